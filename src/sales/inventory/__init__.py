"""Listings: the Inventory domain's properties as a local read model (issue 10 §2), for shortlists and upsells."""
