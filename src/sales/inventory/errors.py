from sales.core.errors import Conflict, NotFound


class ListingNotFound(NotFound):
    code, title = "listing_not_found", "Listing not found"


class StaleListing(Conflict):
    code, title = "stale_listing", "A newer version of the listing is stored"
