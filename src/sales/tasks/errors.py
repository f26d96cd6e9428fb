from sales.core.errors import Conflict, NotFound


class TaskNotFound(NotFound):
    code, title = "task_not_found", "Task not found"


class TaskClosed(Conflict):
    code, title = "task_closed", "Task is already done or cancelled"
