rule image:
    input:
        sources=service_sources,
        compose=SWEEP.compose_file,
    output:
        "results/images/{service}.json",
    log:
        "logs/images/{service}.log",
    conda:
        "../../envs/tierbench.yaml"
    params:
        project=SWEEP.project,
    script:
        "../scripts/build_image.py"
