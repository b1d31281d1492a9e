# iolab - the one Makefile of the course (non-recursive).
#
# Each chapter contributes chapters/NN-slug/chapter.mk, which lists its
# files; the rules for every chapter are generated here by chapter_rules.
# Everything is built out of tree under build/. Quiet unless V=1.
#
# Trees: the tests and benchmarks always come from chapters/ (the course);
# the code under test comes from TREE, any directory laid out like
# chapters/ (the skeleton, solutions/, or a student's submission).
#
# Organisation: settings, the shared kits, the chapter rules, the grader,
# the user-facing targets (run `make help`).

.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules
# Keep intermediate objects: they are what incremental builds reuse.
.SECONDARY:
SHELL := /bin/bash

# ---- settings ----------------------------------------------------------

CC ?= cc
ifeq ($(origin CC),default)
CC := cc
endif
# V=1 shows every command.
V ?= 0
# WERROR=1 turns warnings into errors (the project's own CI and self-test).
WERROR ?= 0
# COVERAGE=1 instruments the code under test for gcovr.
COVERAGE ?= 0
# TREE: where the code under test comes from (B, its build, is set below).
TREE ?= chapters
# EXTRA_CFLAGS is appended to every compile, EXTRA_LDFLAGS to every link
# (grader/sanitize.sh passes -fsanitize=... in both).
EXTRA_CFLAGS ?=
EXTRA_LDFLAGS ?=
# CH: one chapter (01 or 01-blocking-io); empty means all.
CH ?=
# SUBMISSION: for `make grade`, a directory laid out like chapters/.
SUBMISSION ?=

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
endif

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wvla -Wformat=2 -Wpointer-arith -Wundef -Wcast-align \
            -Wwrite-strings -Wold-style-definition
ifeq ($(strip $(WERROR)),1)
WARNINGS += -Werror
endif

# -gdwarf-4 (which also means -g): Valgrind before 3.20 cannot read clang's
# DWARF 5 and gives up on the whole binary ("unhandled dwarf2 abbrev form").
BASE_CFLAGS := -std=c11 -pthread -gdwarf-4 $(WARNINGS)
# Header dependencies of the course's own objects.
DEPFLAGS := -MMD -MP
BASE_CPPFLAGS := -D_GNU_SOURCE -Ishared/include
# Tests: unoptimised, debuggable, and no fortified libc wrappers, so that
# the fault-injection layer sees every call the student makes.
TEST_CFLAGS := $(BASE_CFLAGS) -O0 -g -U_FORTIFY_SOURCE $(EXTRA_CFLAGS)
# Benchmarks: optimised, as a user would ship the code.
BENCH_CFLAGS := $(BASE_CFLAGS) -O2 -g $(EXTRA_CFLAGS)
COV_CFLAGS := $(if $(filter 1,$(strip $(COVERAGE))),--coverage,)
# tk_done flushes gcov through a weak reference, which alone would not pull
# __gcov_dump out of libgcov.a: ask the linker for it.
comma := ,
COV_LDFLAGS := $(if $(COV_CFLAGS),--coverage -Wl$(comma)--undefined=__gcov_dump,)
CRITERION_LIBS := -lcriterion
# Every link ends with LDLIBS. EXTRA_LDFLAGS may stand there: the driver
# takes -fsanitize anywhere, and ld applies each -L to every -l.
LDLIBS := -pthread $(EXTRA_LDFLAGS)

# A build is a function of its inputs (compiler, flags, sources): the
# compiler's identity and every flag are hashed into the build directories'
# names, so a change of CC, WERROR, COVERAGE or EXTRA_CFLAGS builds afresh
# instead of trusting objects made with other flags (git's GIT-CFLAGS idea).
CC_ID := $(shell $(CC) --version 2>&1 | head -n 1)
FLAGS_ID := $(shell printf '%s\n' '$(CC)' '$(CC_ID)' '$(TEST_CFLAGS)' \
              '$(BENCH_CFLAGS)' '$(COV_CFLAGS)' '$(EXTRA_LDFLAGS)' | \
              cksum | cut -d ' ' -f 1)
# CB: the course's own objects (kits, tests, benches, given files), never
# built from a submission; shared by every grading with the same flags.
CB := build/course/$(FLAGS_ID)
# B: the code under test from TREE, and the programs linked with it.
B ?= build/tree/$(subst /,_,$(patsubst /%,%,$(abspath $(TREE))))/$(FLAGS_ID)

# ---- the shared kits -----------------------------------------------------

KIT_B := $(CB)/kit
TESTKIT_OBJ := $(KIT_B)/t/testkit.o $(KIT_B)/t/tk_report.o $(KIT_B)/t/tk_stream.o $(KIT_B)/t/fault.o $(KIT_B)/t/fault_calls.o $(KIT_B)/t/seal.o
PERFKIT_OBJ := $(KIT_B)/b/perfkit.o $(KIT_B)/b/die.o

$(KIT_B)/t/%.o: shared/src/%.c
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D) && $(CC) $(BASE_CPPFLAGS) $(TEST_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(KIT_B)/b/%.o: shared/src/%.c
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D) && $(CC) $(BASE_CPPFLAGS) $(BENCH_CFLAGS) $(DEPFLAGS) -c -o $@ $<

# Larger shared pieces (a server the labs talk to, a client library) live
# in shared/<kit>/ with a kit.mk of their own rules and object lists, which
# chapters name in their chapter.mk (see "chapter rules" below).
include $(sort $(wildcard shared/*/kit.mk))

# ---- chapter rules ---------------------------------------------------------
#
# A chapter.mk sets, for its chapter NN-slug:
#   NN-slug_SRC         the student's files: src/ in TREE               required
#   NN-slug_GIVEN       files the course gives in src/ (a baseline the
#                       bench measures against): always from chapters/ optional
#   NN-slug_TESTS       Criterion sources in tests/ (tests/hidden/*.c,
#                       the hidden tests, join them by themselves)      required
#   NN-slug_BENCH       benchmark sources in bench/                     required
#   NN-slug_TEST_DEPS   extra course objects linked into the tests      optional
#   NN-slug_BENCH_DEPS  extra course objects linked into bench, demos   optional
#   NN-slug_LIBS        extra -l flags for every program                optional
#   NN-slug_DEMOS       demo programs, one demo/NAME.c each, linked with
#                       the student's code: $(B)/NN-slug/demo/NAME      optional
#
# Only NN-slug_SRC comes from TREE; everything else is the course's and is
# built under $(CB). The targets of a chapter, in the order the grader uses
# them: course-NN-slug (the course's objects, built by the grader's user),
# objs-NN-slug (the student's objects, which the grader then inspects),
# build-NN-slug (tests, bench and demos, linked).

CHAPTERS :=
include $(sort $(wildcard chapters/[0-9][0-9]-*/chapter.mk))

# The student's objects: every header they read is written to the .d file,
# system headers included (-MD), and the assembly is kept (-save-temps=obj):
# the grader checks both before anything is linked. Coverage builds, which
# are never graded, keep no assembly (gcc 12 garbles -fprofile-update when
# -save-temps and --coverage meet).
STUDENT_FLAGS := -MD $(if $(COV_CFLAGS),,-save-temps=obj)

# $(call chapter_rules,NN-slug) - every rule of one chapter for TREE.
define chapter_rules
$(1)_DIR := chapters/$(1)
$(1)_SRCDIR := $(patsubst %/,%,$(strip $(TREE)))/$(1)/src
$(1)_B := $(B)/$(1)
$(1)_CB := $(CB)/$(1)
$(1)_CPPFLAGS := $(BASE_CPPFLAGS) -Ichapters/$(1)/include
# A student's file is C (.c) or assembly through the preprocessor (.S).
$(1)_TSRC_OBJ := $$(patsubst %.c,$$($(1)_B)/t/src/%.fi.o,$$(patsubst %.S,%.c,$$($(1)_SRC)))
$(1)_BSRC_OBJ := $$(patsubst %.c,$$($(1)_B)/b/src/%.o,$$(patsubst %.S,%.c,$$($(1)_SRC)))
$(1)_TGIVEN_OBJ := $$(patsubst %.c,$$($(1)_CB)/t/given/%.fi.o,$$($(1)_GIVEN))
$(1)_BGIVEN_OBJ := $$(patsubst %.c,$$($(1)_CB)/b/given/%.o,$$($(1)_GIVEN))
# Hidden tests (tests/hidden/*.c, each named `hidden` in the manifest) join
# the tests when they are there: the student edition leaves them out.
$(1)_HIDDEN := $$(patsubst chapters/$(1)/tests/%,%,$$(wildcard chapters/$(1)/tests/hidden/*.c))
$(1)_TEST_OBJ := $$(patsubst %.c,$$($(1)_CB)/t/tests/%.o,$$($(1)_TESTS) $$($(1)_HIDDEN))
$(1)_BENCH_OBJ := $$(patsubst %.c,$$($(1)_CB)/b/bench/%.o,$$($(1)_BENCH))
$(1)_DEMO_OBJ := $$(patsubst %.c,$$($(1)_CB)/demo/%.o,$$($(1)_DEMOS))

# The student's code for the tests: compiled, then rewritten so that its
# read/write/... calls go through the fault-injection layer.
$$($(1)_B)/t/src/%.o: $$($(1)_SRCDIR)/%.c
	$$(call say,CC,$$<)
	$(Q)mkdir -p $$(@D) && $$(CC) $$($(1)_CPPFLAGS) $$(TEST_CFLAGS) $$(STUDENT_FLAGS) $$(COV_CFLAGS) -c -o $$@ $$<

$$($(1)_B)/t/src/%.o: $$($(1)_SRCDIR)/%.S
	$$(call say,AS,$$<)
	$(Q)mkdir -p $$(@D) && $$(CC) $$($(1)_CPPFLAGS) $$(TEST_CFLAGS) $$(STUDENT_FLAGS) -c -o $$@ $$<

$$($(1)_B)/t/src/%.fi.o: $$($(1)_B)/t/src/%.o shared/fault.syms
	$(Q)objcopy --redefine-syms=shared/fault.syms $$< $$@

$$($(1)_B)/b/src/%.o: $$($(1)_SRCDIR)/%.c
	$$(call say,CC,$$<)
	$(Q)mkdir -p $$(@D) && $$(CC) $$($(1)_CPPFLAGS) $$(BENCH_CFLAGS) $$(STUDENT_FLAGS) -c -o $$@ $$<

$$($(1)_B)/b/src/%.o: $$($(1)_SRCDIR)/%.S
	$$(call say,AS,$$<)
	$(Q)mkdir -p $$(@D) && $$(CC) $$($(1)_CPPFLAGS) $$(BENCH_CFLAGS) $$(STUDENT_FLAGS) -c -o $$@ $$<

# The course's files given in src/: the same treatment, from chapters/.
$$($(1)_CB)/t/given/%.o: chapters/$(1)/src/%.c
	$$(call say,CC,$$<)
	$(Q)mkdir -p $$(@D) && $$(CC) $$($(1)_CPPFLAGS) $$(TEST_CFLAGS) $$(DEPFLAGS) -c -o $$@ $$<

$$($(1)_CB)/t/given/%.fi.o: $$($(1)_CB)/t/given/%.o shared/fault.syms
	$(Q)objcopy --redefine-syms=shared/fault.syms $$< $$@

$$($(1)_CB)/b/given/%.o: chapters/$(1)/src/%.c
	$$(call say,CC,$$<)
	$(Q)mkdir -p $$(@D) && $$(CC) $$($(1)_CPPFLAGS) $$(BENCH_CFLAGS) $$(DEPFLAGS) -c -o $$@ $$<

$$($(1)_CB)/t/tests/%.o: chapters/$(1)/tests/%.c
	$$(call say,CC,$$<)
	$(Q)mkdir -p $$(@D) && $$(CC) $$($(1)_CPPFLAGS) $$(TEST_CFLAGS) $$(DEPFLAGS) -c -o $$@ $$<

$$($(1)_CB)/b/bench/%.o: chapters/$(1)/bench/%.c
	$$(call say,CC,$$<)
	$(Q)mkdir -p $$(@D) && $$(CC) $$($(1)_CPPFLAGS) $$(BENCH_CFLAGS) $$(DEPFLAGS) -c -o $$@ $$<

$$($(1)_CB)/demo/%.o: chapters/$(1)/demo/%.c
	$$(call say,CC,$$<)
	$(Q)mkdir -p $$(@D) && $$(CC) $$($(1)_CPPFLAGS) $$(BENCH_CFLAGS) $$(DEPFLAGS) -c -o $$@ $$<

$$($(1)_B)/tests: $$($(1)_TEST_OBJ) $$($(1)_TSRC_OBJ) $$($(1)_TGIVEN_OBJ) $$(TESTKIT_OBJ) $$($(1)_TEST_DEPS)
	$$(call say,LD,$$@)
	$(Q)$$(CC) $$(COV_LDFLAGS) -o $$@ $$^ $$(CRITERION_LIBS) $$($(1)_LIBS) $$(LDLIBS)

$$($(1)_B)/bench: $$($(1)_BENCH_OBJ) $$($(1)_BSRC_OBJ) $$($(1)_BGIVEN_OBJ) $$(PERFKIT_OBJ) $$($(1)_BENCH_DEPS)
	$$(call say,LD,$$@)
	$(Q)$$(CC) -o $$@ $$^ $$($(1)_LIBS) $$(LDLIBS)

# Demo programs: the student's code (optimised) with a small main.
$(1)_DEMO_BIN := $$(patsubst %.c,$$($(1)_B)/demo/%,$$($(1)_DEMOS))

$$($(1)_B)/demo/%: $$($(1)_CB)/demo/%.o $$($(1)_BSRC_OBJ) $$($(1)_BGIVEN_OBJ) $$(PERFKIT_OBJ) $$($(1)_BENCH_DEPS)
	$$(call say,LD,$$@)
	$(Q)mkdir -p $$(@D) && $$(CC) -o $$@ $$^ $$($(1)_LIBS) $$(LDLIBS)

.PHONY: course-$(1) objs-$(1) build-$(1) demos-$(1) files-$(1)
course-$(1): $$($(1)_TEST_OBJ) $$($(1)_BENCH_OBJ) $$($(1)_DEMO_OBJ) $$($(1)_TGIVEN_OBJ) $$($(1)_BGIVEN_OBJ) $$(TESTKIT_OBJ) $$(PERFKIT_OBJ) $$($(1)_TEST_DEPS) $$($(1)_BENCH_DEPS)
objs-$(1): $$($(1)_TSRC_OBJ) $$($(1)_BSRC_OBJ)
build-$(1): $$($(1)_B)/tests $$($(1)_B)/bench $$($(1)_DEMO_BIN)
demos-$(1): $$($(1)_DEMO_BIN)
	@for d in $$^; do echo "  built  $$$$d"; done
# What the grader needs to know of the chapter, one fact per line.
files-$(1):
	@echo 'student $$($(1)_SRC)'
	@echo 'given $$($(1)_GIVEN)'
	@echo 'objects $$(patsubst %.fi.o,%.o,$$($(1)_TSRC_OBJ)) $$($(1)_BSRC_OBJ)'
	@echo 'tests $$($(1)_B)/tests'
	@echo 'bench $$($(1)_B)/bench'
	@echo 'course $$($(1)_CB)'
endef

$(foreach ch,$(CHAPTERS),$(eval $(call chapter_rules,$(ch))))

# ---- the grader ------------------------------------------------------------

GRADER := build/grader/iolab-grade
GRADER_SRC := $(filter-out grader/main.c,$(wildcard grader/*.c))
GRADER_OBJ := $(patsubst grader/%.c,build/grader/obj/%.o,$(GRADER_SRC))
GRADER_TEST_OBJ := $(patsubst grader/tests/%.c,build/grader/tobj/%.o,$(wildcard grader/tests/*.c))

# The grader's own objects are not flag-stamped by directory (scripts name
# build/grader/iolab-grade): build/grader/FLAGS holds the flags they were
# built with, rewritten only when they change, and every object depends
# on it (git's GIT-CFLAGS).
GRADER_FLAGS := build/grader/FLAGS
$(GRADER_FLAGS): FORCE
	@mkdir -p $(@D) && { echo '$(FLAGS_ID)' | cmp -s - $@ || echo '$(FLAGS_ID)' >$@; }
.PHONY: FORCE
FORCE:

build/grader/obj/%.o: grader/%.c $(GRADER_FLAGS)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D) && $(CC) $(BASE_CPPFLAGS) -Igrader $(BASE_CFLAGS) -O2 -g $(DEPFLAGS) -c -o $@ $<

build/grader/tobj/%.o: grader/tests/%.c $(GRADER_FLAGS)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D) && $(CC) $(BASE_CPPFLAGS) -Igrader $(TEST_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(GRADER): build/grader/obj/main.o $(GRADER_OBJ)
	$(call say,LD,$@)
	$(Q)$(CC) -o $@ $^ $(LDLIBS)

build/grader/unit-tests: $(GRADER_TEST_OBJ) $(GRADER_OBJ) $(TESTKIT_OBJ)
	$(call say,LD,$@)
	$(Q)$(CC) -o $@ $^ $(CRITERION_LIBS) $(LDLIBS)

# A Criterion binary whose tests fail with hostile messages: the grader's
# unit tests run it to check the report hook and the parser end to end.
# (Its .d file adds headers to $^; clang will not link a header.)
build/grader/hook-probe: grader/probe/hook_probe.c $(KIT_B)/t/testkit.o $(KIT_B)/t/tk_report.o $(KIT_B)/t/seal.o $(GRADER_FLAGS)
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(BASE_CPPFLAGS) $(TEST_CFLAGS) -o $@ $(filter-out %.h build/grader/FLAGS,$^) $(CRITERION_LIBS) $(LDLIBS)

# ---- user-facing targets -----------------------------------------------------

DEPS := grader/deps.sh
GRADE_TREE := $(if $(strip $(SUBMISSION)),$(SUBMISSION),chapters)
CH_ARG := $(if $(strip $(CH)),--ch $(strip $(CH)),)

.PHONY: help deps grade test memcheck coverage calibrate skeletons \
        format format-check shellcheck compdb clean grader student-edition \
        gradescope batch demos charts sanitize check watch hint progress reset

help: ## show this list
	@echo "iolab - efficient IO on Linux, graded. Targets:"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
	  sed -E 's/^([a-z-]+):.*## (.*)/\1|\2/' | \
	  awk -F'|' '{ n = split($$2, w, " "); line = sprintf("  make %-16s", $$1); \
	    for (i = 1; i <= n; i++) { \
	      if (length(line) + 1 + length(w[i]) > 100) { print line; line = sprintf("%23s", "") w[i] } \
	      else line = line (substr(line, length(line)) == " " ? "" : " ") w[i] } \
	    print line }'
	@echo "Variables: CH=01 (one chapter), SUBMISSION=dir (grade another tree), V=1 (show commands)"

deps: ## check for (and install) Criterion, Valgrind, gcovr and the rest [ORACLES=1: iostat, promtool, gnuplot too]
	@$(DEPS) $(if $(strip $(ORACLES)),--oracles)

grader: $(GRADER) ## build the grader only

grade: ## grade your work in chapters/ (or SUBMISSION=dir) [CH=01]
	@$(DEPS) --quiet
	@$(MAKE) --no-print-directory $(GRADER)
	@$(GRADER) --tree $(GRADE_TREE) $(CH_ARG) $(GRADE_FLAGS)

check: ## the quick loop: CH's tests only, stopping at the first failure with its hint [CH=01]
	@$(DEPS) --quiet
	@bash grader/check.sh "$(strip $(CH))" $(GRADE_TREE)

watch: ## make check CH=NN again on every save of the chapter's src/ (Ctrl-C stops)
	@$(DEPS) --quiet
	@bash grader/watch.sh "$(strip $(CH))" $(GRADE_TREE)

progress: ## where you stand: each chapter's last grade, without running anything
	@python3 grader/progress.py $(GRADE_TREE)

hint: ## print a hint: H=H1.5 [CH=01]
	@bash grader/hint.sh "$(strip $(H))" "$(strip $(CH))"

test: ## the self-test: solutions full marks, skeletons fail cleanly, grader's own tests (course only)
	@$(DEPS) --quiet --oracles
	@bash grader/selftest.sh

memcheck: ## run the tests under Valgrind, naming each error's test [CH=01]
	@$(DEPS) --quiet
	@$(MAKE) --no-print-directory $(GRADER)
	@$(GRADER) --tree $(GRADE_TREE) $(CH_ARG) --only memcheck $(GRADE_FLAGS)

coverage: ## line coverage of the solutions by the tests (HTML + summary) [CH=01] (course only)
	@$(DEPS) --quiet
	@bash grader/coverage.sh $(if $(strip $(SUBMISSION)),$(SUBMISSION),solutions) $(CH)

sanitize: ## run the solutions' tests and kvd's under ASan and UBSan [CH=01, CC=clang] (course only)
	@$(DEPS) --quiet
	@bash grader/sanitize.sh $(if $(strip $(SUBMISSION)),$(SUBMISSION),solutions) $(CH)

calibrate: ## the reference's metrics against every threshold, with margins (course only)
	@$(DEPS) --quiet
	@$(MAKE) --no-print-directory $(GRADER)
	@$(GRADER) --tree solutions $(CH_ARG) --calibrate

skeletons: ## regenerate chapters/*/src from the marked solutions (keeps uncommitted edits unless FORCE=1) (course only)
	@FORCE="$(FORCE)" bash grader/skeletons.sh

reset: ## put F=chapters/NN-slug/src/FILE back to its skeleton (your version is kept in .backups/)
	@bash grader/reset.sh "$(F)"

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null | grep -v '^chapters/.*/src/')

format: ## reformat the project's C sources with clang-format
	@clang-format -i $(FORMAT_FILES)

format-check: ## fail if any C source is not formatted
	@clang-format --dry-run --Werror $(FORMAT_FILES)

# Every shell script the repository tracks (CI installs shellcheck; it is
# not a dependency of grading or of make test).
SHELL_FILES = $(shell git ls-files '*.sh' .ci/run 2>/dev/null)

shellcheck: ## fail if any shell script has a shellcheck warning
	@shellcheck $(SHELL_FILES)

# The editor's database is made from the commands make itself would run
# (make -n -B lists every one without running it): the skeleton and the
# course's files with TREE=chapters, then the solutions' files, the
# grader and the kits. grader/compdb.py turns them into entries.
COMPDB_GOALS := $(foreach ch,$(CHAPTERS),course-$(ch) objs-$(ch) build-$(ch)) \
                $(GRADER) build/grader/unit-tests build/grader/hook-probe kvd
compdb: ## write compile_commands.json for editors (clangd), from make's own commands
	@{ $(MAKE) -n -B --no-print-directory TREE=chapters $(COMPDB_GOALS) && \
	   $(MAKE) -n -B --no-print-directory TREE=solutions $(addprefix objs-,$(CHAPTERS)); } | \
	  python3 grader/compdb.py '$(CC)' >compile_commands.json.tmp && \
	  mv compile_commands.json.tmp compile_commands.json && echo "  wrote compile_commands.json"

student-edition: ## write the course without solutions to DEST=dir (for a student repository) (course only)
	@bash grader/student-edition.sh "$(DEST)"

batch: ## grade SUBMISSIONS=dir (one entry a student) into OUT=dir/gradebook.csv [CH=01, FLAGS=...]
	@CH="$(strip $(CH))" FLAGS="$(FLAGS)" bash grader/batch.sh "$(SUBMISSIONS)" $(OUT)

gradescope: ## build/gradescope/autograder.zip, Gradescope's autograder [CH=01, FLAGS=grader options] (course only)
	@bash grader/gradescope/make-zip.sh "$(strip $(CH))" "$(FLAGS)"

charts: ## your code's benchmark curves as PNG in build/charts/ (gnuplot) [CH=04]
	@bash grader/charts.sh "$(strip $(CH))" $(if $(strip $(SUBMISSION)),$(SUBMISSION),$(TREE))

demos: ## build the chapters' demo programs from your code [CH=02]
	@$(MAKE) --no-print-directory TREE=$(GRADE_TREE) \
	  $(addprefix demos-,$(if $(strip $(CH)),$(filter $(patsubst %,%%,$(strip $(CH))),$(CHAPTERS)),$(CHAPTERS)))

clean: ## remove build/ and every generated file
	rm -rf build compile_commands.json

# Header dependencies of the course's objects only: a submission's objects
# are always compiled afresh, and their .d files (whose names a submission
# chooses) are read by the grader's include check, never by make.
-include $(shell find $(CB) build/grader -name '*.d' 2>/dev/null)

# make print-VAR: the value of a variable (scripts ask for build paths).
print-%:
	@echo '$($*)'
