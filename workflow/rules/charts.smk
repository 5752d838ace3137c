# Charts from the aggregate stage's tables: the comparison animation, the summary image
# and the interactive HTML report. Options come from the `charts` config section.


rule comparison_animation:
    input:
        summary="results/summary.parquet",
        timeline="results/timeline.parquet",
        meta=cell_paths("results/meta/{cell}.json"),
    output:
        gif=report(
            "results/charts/comparison.gif",
            caption="../report/charts_comparison.rst",
            category="Charts",
        ),
        mp4=report(
            "results/charts/comparison.mp4",
            caption="../report/charts_comparison.rst",
            category="Charts",
        ),
    log:
        "logs/charts/comparison.log",
    conda:
        "../../envs/tierbench.yaml"
    params:
        charts=config.get("charts", {}),
    script:
        "../scripts/charts_comparison.py"


rule summary_chart:
    input:
        summary="results/summary.parquet",
        timeline="results/timeline.parquet",
        meta=cell_paths("results/meta/{cell}.json"),
    output:
        png=report(
            "results/charts/summary.png",
            caption="../report/charts_summary.rst",
            category="Charts",
        ),
    log:
        "logs/charts/summary.log",
    conda:
        "../../envs/tierbench.yaml"
    params:
        charts=config.get("charts", {}),
        capacity=optional_capacity,
    script:
        "../scripts/charts_summary.py"


rule html_report:
    input:
        summary="results/summary.parquet",
        timeline="results/timeline.parquet",
        meta=cell_paths("results/meta/{cell}.json"),
    output:
        html=report(
            "results/charts/report.html",
            caption="../report/charts_report.rst",
            category="Charts",
        ),
    log:
        "logs/charts/report.log",
    conda:
        "../../envs/tierbench.yaml"
    params:
        capacity=optional_capacity,
    script:
        "../scripts/charts_report.py"


rule charts:
    input:
        rules.comparison_animation.output,
        rules.summary_chart.output,
        rules.html_report.output,
