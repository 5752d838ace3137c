# k6's raw JSON of each cell to tidy Parquet: one row per request, the other samples beside.


rule tidy:
    input:
        k6="results/k6/{cell}.json.gz",
        meta="results/meta/{cell}.json",
    output:
        requests="results/tidy/{cell}.parquet",
        metrics="results/tidy/{cell}.metrics.parquet",
    log:
        "logs/tidy/{cell}.log",
    conda:
        "../../envs/tierbench.yaml"
    script:
        "../scripts/tidy.py"
