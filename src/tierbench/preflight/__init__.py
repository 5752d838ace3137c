"""The pre-flight: what this host can and cannot measure well, said before a sweep starts.

`facts` gathers (the engine, cgroups, cores, disk, tools; no container is started),
`checks` judges (facts in, OK / WARN / FAIL lines out), `disk` estimates the raw k6 data,
`run` prints the lines and stops a sweep on a FAIL, `record` keeps them in
results/preflight.json for the cells' metas. Importing `record` pulls in no engine client.
"""
