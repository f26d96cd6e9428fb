"""dashboard performance (issue 18): the forecast's learning counted once per past cut and per day
(`forecast_learning_counts`), with the triggers that delete a cut's counts when a change can alter them, and (on
PostgreSQL) an index on the learning rows' duration

Revision ID: 0032
Revises: 0031
"""
from alembic import op
import sqlalchemy as sa
import sales.core.types

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

# A forecast_learning row counts for a cut when it closed before it: writing or deleting one makes the cuts after its
# close stale. An RM added, removed or moved changes which city its rows count for: every cut is stale.
POSTGRESQL = [
    # the wins of one day of duration (`repository._running_learned`), found without scanning the table
    "CREATE INDEX ix_forecast_learning_took ON forecast_learning ((EXTRACT(epoch FROM closed_at - entered_at)))",
    """CREATE FUNCTION forecast_learning_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM forecast_learning_counts WHERE cut_before > (SELECT min(closed_at) FROM changed_rows);
  RETURN NULL;
END $$""",
    """CREATE FUNCTION forecast_learning_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM forecast_learning_counts WHERE cut_before > (SELECT min(closed_at) FROM changed_rows);
  RETURN NULL;
END $$""",
    """CREATE FUNCTION forecast_learning_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM forecast_learning_counts WHERE cut_before > least((SELECT min(closed_at) FROM old_rows),
                                                                 (SELECT min(closed_at) FROM new_rows));
  RETURN NULL;
END $$""",
    """CREATE FUNCTION forecast_learning_counts_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM forecast_learning_counts;
  RETURN NULL;
END $$""",
    """CREATE TRIGGER forecast_learning_counts_inserted AFTER INSERT ON forecast_learning
REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION forecast_learning_counts_inserted()""",
    """CREATE TRIGGER forecast_learning_counts_deleted AFTER DELETE ON forecast_learning
REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION forecast_learning_counts_deleted()""",
    """CREATE TRIGGER forecast_learning_counts_updated AFTER UPDATE ON forecast_learning
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION forecast_learning_counts_updated()""",
    """CREATE TRIGGER forecast_learning_counts_truncated AFTER TRUNCATE ON forecast_learning
FOR EACH STATEMENT EXECUTE FUNCTION forecast_learning_counts_all()""",
    """CREATE TRIGGER forecast_learning_counts_rms AFTER INSERT OR DELETE OR UPDATE OF id, city ON rms
FOR EACH STATEMENT EXECUTE FUNCTION forecast_learning_counts_all()""",
    """CREATE TRIGGER forecast_learning_counts_rms_truncated AFTER TRUNCATE ON rms
FOR EACH STATEMENT EXECUTE FUNCTION forecast_learning_counts_all()""",
]
SQLITE = [
    """CREATE TRIGGER forecast_learning_counts_inserted AFTER INSERT ON forecast_learning BEGIN
DELETE FROM forecast_learning_counts WHERE cut_before > NEW.closed_at; END""",
    """CREATE TRIGGER forecast_learning_counts_deleted AFTER DELETE ON forecast_learning BEGIN
DELETE FROM forecast_learning_counts WHERE cut_before > OLD.closed_at; END""",
    """CREATE TRIGGER forecast_learning_counts_updated AFTER UPDATE ON forecast_learning BEGIN
DELETE FROM forecast_learning_counts WHERE cut_before > OLD.closed_at OR cut_before > NEW.closed_at; END""",
    """CREATE TRIGGER forecast_learning_counts_rms_inserted AFTER INSERT ON rms BEGIN
DELETE FROM forecast_learning_counts; END""",
    """CREATE TRIGGER forecast_learning_counts_rms_deleted AFTER DELETE ON rms BEGIN
DELETE FROM forecast_learning_counts; END""",
    """CREATE TRIGGER forecast_learning_counts_rms_updated AFTER UPDATE OF id, city ON rms BEGIN
DELETE FROM forecast_learning_counts; END""",
]


def upgrade() -> None:
    op.create_table("forecast_learning_counts",
                    sa.Column("cut_before", sales.core.types.UTCDateTime(timezone=True), nullable=False),
                    sa.Column("horizon_seconds", sa.String(length=48), nullable=False),
                    sa.Column("cells", sales.core.types.JSONType, nullable=False),
                    sa.Column("computed_at", sales.core.types.UTCDateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint("cut_before", "horizon_seconds",
                                            name=op.f("pk_forecast_learning_counts")))
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table in (("inserted", "forecast_learning"), ("deleted", "forecast_learning"),
                            ("updated", "forecast_learning"), ("truncated", "forecast_learning"),
                            ("rms", "rms"), ("rms_truncated", "rms")):
            op.execute(f"DROP TRIGGER forecast_learning_counts_{name} ON {table}")
        for name in ("inserted", "deleted", "updated", "all"):
            op.execute(f"DROP FUNCTION forecast_learning_counts_{name}()")
        op.execute("DROP INDEX ix_forecast_learning_took")
    else:
        for name in ("inserted", "deleted", "updated", "rms_inserted", "rms_deleted", "rms_updated"):
            op.execute(f"DROP TRIGGER forecast_learning_counts_{name}")
    op.drop_table("forecast_learning_counts")
