from sales.core.errors import Conflict


class RefundAlreadyOpen(Conflict):
    code, title = "refund_already_open", "The order already has an open refund request"
