"""RM-assisted journey (issue 14): requirements, explainable matching, versioned shareable shortlists and the
customer's public shortlist page with feedback. Other domains use `service` / `shortlists` functions only."""
