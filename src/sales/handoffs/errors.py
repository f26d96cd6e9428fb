from sales.core.errors import Conflict


class AlreadyAssisted(Conflict):
    code, title = "already_assisted", "The user already has an RM"


class NotAssisted(Conflict):
    code, title = "not_assisted", "The user has no RM to hand back from"
