rule image:
    input:
        sources=service_sources,
        compose=SWEEP.compose_file,
    output:
        "results/images/{service}.json",
    log:
        "logs/images/{service}.log",
    params:
        project=SWEEP.project,
    conda:
        "../../envs/tierbench.yaml"
    script:
        "../scripts/build_image.py"
