"""New months on their own: on the 2nd of each month (Brasília time), every endpoint for the month that closed."""

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from pncp_pipeline.defs.jobs import pncp_job
from pncp_pipeline.scope import add_months


@schedule(
    job=pncp_job,
    cron_schedule="0 6 2 * *",
    execution_timezone="America/Sao_Paulo",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Extract the month that just closed, for every enabled endpoint (on by default).",
)
def monthly_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    month = add_months(context.scheduled_execution_time.date().replace(day=1), -1)
    return RunRequest(run_key=f"monthly:{month:%Y-%m}", partition_key=month.isoformat())
