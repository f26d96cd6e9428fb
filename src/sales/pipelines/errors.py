from sales.core.errors import Conflict, NotFound


class PipelineNotFound(NotFound):
    code, title = "pipeline_not_found", "Pipeline not found"


class StageChangeNotAllowed(Conflict):
    code, title = "stage_change_not_allowed", "Stage change not allowed"


class PipelineClosed(Conflict):
    code, title = "pipeline_closed", "Pipeline is closed"


class LeadHasOpenPipeline(Conflict):
    code, title = "lead_has_open_pipeline", "Lead already has an open pipeline"
