# MMS: build, test, demo and bench. Every target installs the Debian packages it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := build

APT_PACKAGES := libncursesw5-dev libsqlite3-dev libmicrohttpd-dev tmux procps ncurses-term curl openssl postgresql-15 libpq-dev libcurl4-openssl-dev podman runc iptables busybox-static bash-static openssh-server
SWIFT ?= swift

.PHONY: deps build release test soak fuzz demo demo-stop demo-cluster demo-cluster-stop bench schemathesis clean

# Installs the apt packages that are missing (apt-get update once, only when something is missing).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Suites that run many real processes (servers, agents, jobs, 100 MB logs); they run as a second
# batch so the 2-core machine is not asked for everything at once (timing-sensitive tests stayed flaky).
HEAVY_SUITES := AuditCrashTests|CommandTests|CrashTests|AgentProcessTests|LongLogTests|FailoverAgentTests|SessionFailoverTests|BigLogEndToEndTests|HostileInputTests|SlowClientTests|ServeTests|StatsDTests|PushAgentTests|PushTrustTests|PushReplicaTests|ConsoleOperatorTmuxTests|ConsoleV2TmuxTests|LogSaveTmuxTests|UpgradeProcessTests

# Suites that drive podman and sshd through blocking calls (podman, ssh, ssh-keygen waited for on the
# test's own threads): a third batch, so they never starve the async timing checks of the heavy suites.
# (The pattern JumpPointTests also selects PushJumpPointTests.)
CONTAINER_SUITES := ContainerJobTests|JumpPointTests|PushContainerTests

# Every test (the light suites, then the heavy ones, then the podman/sshd ones), then the server's suites again on PostgreSQL
# (a throwaway cluster the tests start). A failed suite is run once more alone (scripts/test-batch.sh,
# which says so): timing-sensitive process suites miss a window now and then on a loaded 2-core box.
test: deps
	$(SWIFT) build --build-tests
	SWIFT=$(SWIFT) bash scripts/test-batch.sh --skip '$(HEAVY_SUITES)|$(CONTAINER_SUITES)'
	SWIFT=$(SWIFT) bash scripts/test-batch.sh --filter '$(HEAVY_SUITES)'
	SWIFT=$(SWIFT) bash scripts/test-batch.sh --filter '$(CONTAINER_SUITES)'
	MMS_TEST_DATABASE=postgres SWIFT=$(SWIFT) bash scripts/test-batch.sh --filter MonitorServerTests

# The crash and hostile-client suites at a larger scale (MMS_SOAK=1: 25 server kills with 4 agents,
# the agent crash 5 times), then every fuzz target for 2 minutes; ~15 min.
soak: deps
	$(SWIFT) build --build-tests
	MMS_SOAK=1 $(SWIFT) test --filter 'CrashTests|SlowClientTests|HostileInputTests|ServerDiskFullTests'
	FUZZ_SECONDS=120 bash scripts/fuzz.sh

# Coverage-guided fuzzing (libFuzzer + AddressSanitizer, from the Swift toolchain) of the parsing layer:
# FUZZ_SECONDS per target (default 60); findings land in .build-fuzz/findings/.
fuzz: deps
	bash scripts/fuzz.sh

demo: deps
	$(SWIFT) build -c release
	@bash scripts/demo.sh

demo-stop:
	@bash scripts/demo.sh stop

# The same fleet on three mms-server replicas sharing a throwaway PostgreSQL (demo-data/cluster).
demo-cluster: deps
	$(SWIFT) build -c release
	@bash scripts/demo-cluster.sh

demo-cluster-stop:
	@bash scripts/demo-cluster.sh stop

bench: deps
	@command -v wrk >/dev/null && command -v nginx >/dev/null || { $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq wrk nginx-light >/dev/null; }
	$(SWIFT) build -c release
	python3 bench/bench.py

# Property-based API testing against docs/openapi.yaml (installs schemathesis into .build-venv; ~10 min).
schemathesis: deps
	$(SWIFT) build
	bash scripts/schemathesis.sh

clean:
	rm -rf .build
