"""Customer context read models: communication preferences (Users) and property activity (Engagement)."""
