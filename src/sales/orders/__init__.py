"""Orders (read model of Billing's paid orders, issue 10 §2): public surface is `service`
(`active_orders_for`, `orders_of_user`, `refunds_of_orders`, `get_order_facts`)."""
