from tests.builders import API, make_pipeline, make_rm, make_team


async def test_create_pipeline_round_trip(client, auth):
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    assert pipeline["stage"] == "NEW"
    response = await client.get(f"{API}/pipelines/{pipeline['id']}", headers=auth.rm(rm["id"]))
    assert response.status_code == 200, response.text
