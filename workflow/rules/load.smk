# The load stage: each service's image (and each variant's with build args of its own),
# then one job per cell (runtime x tier x repeat).


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
        "../scripts/load_image.py"


# A runtime's variant with build args: an image of its own, from its service's build
# section with the variant's args, tagged beside the service's image.
rule variant_image:
    input:
        sources=variant_sources,
        compose=SWEEP.compose_file,
    output:
        "results/images/variants/{variant}.json",
    log:
        "logs/images/variants/{variant}.log",
    conda:
        "../../envs/tierbench.yaml"
    params:
        project=SWEEP.project,
        build=variant_build,
    script:
        "../scripts/load_image.py"


rule load:
    input:
        script=SWEEP.k6_script,
        compose=SWEEP.compose_file,
        images=cell_images,
        earlier_repeat=earlier_repeat,
    output:
        k6=K6_JSON,
        summary="results/k6/{cell}.summary.json",
        resources="results/resources/{cell}.csv",
        meta="results/meta/{cell}.json",
    log:
        "logs/load/{cell}.log",
    conda:
        "../../envs/tierbench.yaml"
    resources:
        load_slot=1,
    params:
        settings=cell_settings,
    script:
        "../scripts/load.py"


# Every cell's outputs: `snakemake sweep` runs the loads alone, and deleting any one of a
# cell's files reruns that cell.
rule sweep:
    input:
        cell_paths("results/k6/{cell}.json.gz") if SWEEP.config["keep_k6_json"] else [],
        cell_paths("results/k6/{cell}.summary.json"),
        cell_paths("results/resources/{cell}.csv"),
        cell_paths("results/meta/{cell}.json"),
