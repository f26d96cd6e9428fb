"""MySqrft Sales domain service."""
