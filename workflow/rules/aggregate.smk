# Every cell's tidy data, meta and resources to the sweep's tables and warnings.


rule aggregate:
    input:
        requests=cell_paths("results/tidy/{cell}.parquet"),
        metrics=cell_paths("results/tidy/{cell}.metrics.parquet"),
        meta=cell_paths("results/meta/{cell}.json"),
        resources=cell_paths("results/resources/{cell}.csv"),
    output:
        runs_csv=report(
            "results/runs.csv", caption="../report/runs.rst", category="Tables"
        ),
        runs_parquet="results/runs.parquet",
        summary_csv=report(
            "results/summary.csv", caption="../report/summary.rst", category="Tables"
        ),
        summary_parquet="results/summary.parquet",
        summary_md=report(
            "results/summary.md", caption="../report/summary.rst", category="Tables"
        ),
        steps_csv=report(
            "results/steps.csv", caption="../report/steps.rst", category="Tables"
        ),
        timeline="results/timeline.parquet",
        warnings_md=report(
            "results/warnings.md", caption="../report/warnings.rst", category="Tables"
        ),
    log:
        "logs/aggregate.log",
    conda:
        "../../envs/tierbench.yaml"
    params:
        cells=CELLS,
        thresholds=SWEEP.config["thresholds"],
    script:
        "../scripts/aggregate.py"
