# imdb-elt: two commands do all the set-up.
#   make run   - build the environment, run the pipeline once on the bundled sample, print a summary
#   make test  - build the environment, run every test
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The job's compiled checks (spark_jobs/jvm: the line check, the key order, the line budget): rebuilt when a Java source changes.
JAVA_SOURCES := $(shell find spark_jobs/jvm -name '*.java')
CHECKS_JAR_STAMP := $(VENV)/.checks-jar
UV_VERSION := 0.13.8
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup run test lint lock sample parse docs airflow bench profile soak package deploy-code \
	cluster-start cluster-stop cluster-run synth deploy-infra infra-env check-mwaa clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# The stamp depends on the lock, so a second run installs nothing.
$(STAMP): requirements.lock
	@scripts/check_system.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	@# Bytecode compiled once here: with PYTHONDONTWRITEBYTECODE set (as on this machine kind),
	@# every process (Airflow task, dbt, test) would otherwise compile its imports again (airflow: 6.8 s → 3.5 s).
	@$(BIN)/uv pip sync -q --compile-bytecode --python $(BIN)/python requirements.lock
	@$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@$(BIN)/python -m imdb_elt.checks_jar
	@# The JVM class archive (spark_jobs/session.py), from a real cleaning run of the sample: ~45 s once.
	@$(BIN)/python -m imdb_elt.spark_class_archive
	@touch $@ $(CHECKS_JAR_STAMP)
	@echo "environment ready in $(VENV)/"

$(CHECKS_JAR_STAMP): $(JAVA_SOURCES) | $(STAMP)
	@$(BIN)/python -m imdb_elt.checks_jar
	@touch $@

setup: $(STAMP) $(CHECKS_JAR_STAMP) ## build the environment: Python packages, the compiled checks' jar, the JVM class archive (idempotent)
	@scripts/check_system.sh

run: setup ## run the whole pipeline once on the bundled sample and print a summary
	@$(BIN)/python -m imdb_elt run

cluster-run: package ## make run, with Spark on a standalone cluster (started for the run unless one is up)
	@IMDB_SPARK_MODE=standalone $(BIN)/python -m imdb_elt run

cluster-start: setup ## start a local standalone Spark cluster (IMDB_SPARK_WORKERS x IMDB_SPARK_WORKER_CORES)
	@$(BIN)/python -m imdb_elt.spark_cluster start

cluster-stop: ## stop it; returns when its JVMs have exited
	@$(BIN)/python -m imdb_elt.spark_cluster stop

test: setup ## run every test (two lanes side by side: the Airflow suites, and the rest)
	@$(BIN)/python -m tests.run_lanes

lint: setup ## ruff
	@$(BIN)/ruff check .

lock: ## re-resolve requirements.txt into requirements.lock
	@$(BIN)/uv pip compile -q requirements.txt --python-version 3.11 -o requirements.lock

sample: setup ## regenerate the bundled sample in data/sample
	@$(BIN)/python -m devtools.sample --out data/sample

parse: setup ## build the dbt manifest Cosmos renders the DAG from
	@$(BIN)/python -m imdb_elt.orchestration.dbt_manifest

airflow: setup ## local Airflow (api-server, scheduler, dag-processor, triggerer) with the DAG unpaused
	@scripts/airflow_standalone.sh

docs: setup ## generate and serve the dbt docs site
	@scripts/dbt_docs.sh

comma := ,
SF ?= 0.01,0.1
bench: setup ## benchmarks side by side: make bench SF=0.1 [SKIP=imdb-sqlite]
	@$(BIN)/python -m benchmarks.run --sf $(SF) $(if $(SKIP),--skip $(SKIP))

profile: setup ## where the Spark job's time goes (flight recording, cost ladder): make profile SF=0.1
	@$(BIN)/python -m benchmarks.profile_spark --sf $(if $(findstring $(comma),$(SF)),0.1,$(SF))

soak: setup ## 50 consecutive runs with random deliveries, ending equal to one fresh load
	@$(BIN)/python -m benchmarks.soak --runs $${RUNS:-50}

package: setup ## build the versioned Spark code bundle in dist/spark/<version>/
	@$(BIN)/python -m imdb_elt.spark_bundle package

deploy-code: package ## upload the bundle to IMDB_SPARK_CODE_URI/<version>/ (boto3)
	@$(BIN)/python -m imdb_elt.spark_bundle deploy

# ---- AWS infrastructure (infra/, docs/deployment.md) ----
# CONTEXT="key=value ..." passes CDK context (infra/options.py), e.g. CONTEXT="mwaa=true".
CDK_CLI := aws-cdk@2.1149.0
CDK_CONTEXT = $(foreach kv,$(CONTEXT),-c $(kv))
# Node 20 (the machine's) runs jsii: its end-of-life banner (silenced per major version) says nothing actionable.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

synth: setup ## write the CloudFormation templates to infra/cdk.out/ (offline: no AWS account, no network)
	@$(BIN)/python -m infra.app $(CDK_CONTEXT)

deploy-infra: setup ## deploy the stack with the CDK CLI (needs AWS credentials; bootstrap the account first)
	@cd infra && npx --yes $(CDK_CLI) deploy --all --require-approval broadening \
		--outputs-file cdk-outputs.json $(CDK_CONTEXT)

infra-env: setup ## the deployed stack's outputs as the DAG's settings: make infra-env [FORMAT=shell]
	@$(BIN)/python -m infra.outputs --stack $${STACK:-imdb-elt} --format $${FORMAT:-env}

check-mwaa: setup ## parse the DAG under MWAA's Airflow and Python in .venv-mwaa/ (slow; not in make test)
	@$(BIN)/python -m infra.check_mwaa

# Earlier versions kept the class archive in the system temp folder, one per clone, never removed.
LEGACY_ARCHIVES = $(wildcard $(or $(TMPDIR),/tmp)/imdb-elt-spark-classes-*.jsa*)
GENERATED = $(wildcard lake warehouse dist dbt_project/target dbt_project/logs infra/cdk.out)
clean: ## remove generated data and stale class archives in the temp folder (keeps .venv and its archive)
	@$(if $(GENERATED)$(LEGACY_ARCHIVES),,echo "nothing to remove")
	@$(foreach p,$(GENERATED),echo "removing $(p)/ ($$(du -sh $(p) | cut -f1))"; rm -rf $(p);)
	@$(foreach p,$(LEGACY_ARCHIVES),echo "removing $(p) ($$(du -sh $(p) | cut -f1), a class archive of an earlier version)"; rm -f $(p);)
