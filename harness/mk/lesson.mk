# lesson.mk - build one lesson's test binary against one implementation.
#
#   make -f harness/mk/lesson.mk LESSON_NAME=01-interleaving IMPL=student
#
# IMPL is `student` (lessons/NN-name/), `solution` (solutions/NN-name/) or
# `mutant:NAME`: the solution with harness/NN-name/mutants/NAME.patch
# applied, in a copy under build/ (harness/NN-name/mutants.tsv lists them).
# The binary is $(BUILD)/NN-name/<impl>/run.

.DEFAULT_GOAL := all
include harness/mk/common.mk

ifeq ($(LESSON_NAME),)
  $(error LESSON_NAME is not set)
endif
IMPL ?= student
HDIR := harness/$(LESSON_NAME)
LDIR := lessons/$(LESSON_NAME)

# The lesson's manifest: STUDENT_FILES (the files the student writes; the
# grader takes only these), LDLIBS_EXTRA (libraries the code under test
# needs: every program gets them, demos too), HARNESS_LDFLAGS (link flags for
# the harness's own programs only: tests, pictures, bench), CALLS (what the
# lesson's code may call beyond harness/mk/calls.txt), RUN_TIMEOUT,
# BENCH_CFLAGS and BENCH_LDLIBS; EXCLUSIVE_TESTS (the tests that need the
# CPUs to themselves: the grader runs them alone, the others side by side)
# and PASS_ANYWHERE (those of them whose pass is a proof on a busy machine
# too: the grader tries them side by side first, keeping only a pass).
include $(HDIR)/lesson.mk

ifeq ($(IMPL),student)
  IMPL_DIR := $(LDIR)
  TAG := student
else ifeq ($(IMPL),solution)
  IMPL_DIR := solutions/$(LESSON_NAME)
  TAG := solution
else ifneq ($(filter mutant:%,$(IMPL)),)
  MUTANT := $(patsubst mutant:%,%,$(IMPL))
  TAG := mutant-$(MUTANT)
  PATCH := $(HDIR)/mutants/$(MUTANT).patch
  ifeq ($(wildcard $(PATCH)),)
    $(error no mutant '$(MUTANT)': $(PATCH) does not exist (the mutants are listed in $(HDIR)/mutants.tsv))
  endif
  IMPL_DIR := $(BUILD)/$(LESSON_NAME)/$(TAG)/src
else
  $(error IMPL must be student, solution or mutant:NAME, not '$(IMPL)')
endif

OUT := $(BUILD)/$(LESSON_NAME)/$(TAG)
source_of = $(IMPL_DIR)/$(1)

IMPL_OBJ := $(STUDENT_FILES:%.c=$(OUT)/impl/%.o)
LESSON_OK := $(OUT)/impl/.lesson-ok
TEST_SRC := $(wildcard $(HDIR)/test_*.c)
TEST_OBJ := $(TEST_SRC:$(HDIR)/%.c=$(BUILD)/$(LESSON_NAME)/tests/%.o)
INCLUDES := -I$(LDIR) -Iharness/lib

# Optional: harness/NN-name/tsan_*.c are small drivers built, with the
# code under test, under ThreadSanitizer (which cannot run inside a
# Criterion binary). Tests run them as $ATONCE_OUT/tsan_NAME.
TSAN_SRC := $(wildcard $(HDIR)/tsan_*.c)
TSAN_BIN := $(TSAN_SRC:$(HDIR)/%.c=$(OUT)/%)
# Optional: harness/NN-name/asan_*.c, the same for AddressSanitizer (and
# UBSan): memory errors in code the student manages (stacks, queues,
# buffers, connections). Tests run them as $ATONCE_OUT/asan_NAME.
ASAN_SRC := $(wildcard $(HDIR)/asan_*.c)
ASAN_BIN := $(ASAN_SRC:$(HDIR)/%.c=$(OUT)/%)
# -g1 after CFLAGS' -g: line tables and function names, all a sanitizer's
# report prints (its frames' file:line; its own instrumentation names the
# stack variables), in two thirds of the compile time -g takes under
# AddressSanitizer. The grader compiles these for every student.
SAN_FLAGS_tsan := -fsanitize=thread -O1 -g1
SAN_FLAGS_asan := -fsanitize=address,undefined -fno-omit-frame-pointer -O1 -g1
SAN_LABEL_tsan := TSAN
SAN_LABEL_asan := ASAN

# A driver is the harness's objects (its own .c, the clock, the exit
# hook), compiled once per lesson for every implementation, as the test
# objects are, linked with the code under test compiled under the same
# sanitizer. Per implementation only its own files are compiled: the
# grader builds each lesson for every student.
DRV_DIR := $(BUILD)/$(LESSON_NAME)/drivers
DRV_LIB := at_time at_driver_exit at_proc
drv_lib_obj = $(DRV_LIB:%=$(DRV_DIR)/$(1)-%.o)
san_impl_obj = $(STUDENT_FILES:%.c=$(OUT)/$(1)/%.o)
# Both kinds of driver: an exit() by the code under test is not a clean run.
DRIVER_EXIT_LDFLAGS := -Wl,--wrap=exit,--wrap=_exit,--wrap=_Exit

# `all` = `tests` (the Criterion binary and whatever else its tests run, a
# lesson's lesson.mk may add to it) + the sanitizer drivers, slow to build,
# which make test builds for a mutant only when a test asks for one.
all: tests $(TSAN_BIN) $(ASAN_BIN)
tests: $(OUT)/run
.PHONY: all tests

# $(call driver_rules,tsan|asan): the objects and the link of one kind.
# Every object of a driver is compiled alike: the kind's sanitizer flags.
san_cc = $(CC) $(ALL_CFLAGS) $(SAN_FLAGS_$(1)) $(INCLUDES) -c $< -o $@
define driver_rules
$(DRV_DIR)/$(1)_%.o: $(HDIR)/$(1)_%.c | $(DRV_DIR)/
	$$(call say,CC,$$<)
	$(Q)$$(call san_cc,$(1))

$(DRV_DIR)/$(1)-%.o: harness/lib/%.c | $(DRV_DIR)/
	$$(call say,CC,$$<)
	$(Q)$$(call san_cc,$(1))

$(OUT)/$(1)/%.o: $(IMPL_DIR)/%.c $(LESSON_OK) | $(OUT)/$(1)/
	$$(call say,$$(SAN_LABEL_$(1)),$$<)
	$(Q)$$(call san_cc,$(1))

$(OUT)/$(1)_%: $(DRV_DIR)/$(1)_%.o $(call san_impl_obj,$(1)) $(call drv_lib_obj,$(1))
	$$(call say,LD,$$@)
	$(Q)$$(CC) $$(ALL_CFLAGS) $$(SAN_FLAGS_$(1)) $$(LD_FAST) -o $$@ $$^ $$(DRIVER_EXIT_LDFLAGS) $$(LDLIBS_EXTRA)
endef
$(eval $(call driver_rules,tsan))
$(eval $(call driver_rules,asan))
DRV_OBJ := $(TSAN_SRC:$(HDIR)/%.c=$(DRV_DIR)/%.o) $(ASAN_SRC:$(HDIR)/%.c=$(DRV_DIR)/%.o) \
	$(if $(TSAN_SRC),$(call drv_lib_obj,tsan)) $(if $(ASAN_SRC),$(call drv_lib_obj,asan))
SAN_IMPL_OBJ := $(if $(TSAN_SRC),$(call san_impl_obj,tsan)) $(if $(ASAN_SRC),$(call san_impl_obj,asan))
.SECONDARY: $(DRV_OBJ) $(SAN_IMPL_OBJ)

# What a lesson file may be (its globals, no constructors, calls from the
# allow-list: harness/tools/lesson-objects.sh), checked before any program
# links or compiles it: the same for make check, make test and the grader.
$(LESSON_OK): $(IMPL_OBJ) harness/tools/lesson-objects.sh harness/mk/calls.txt $(HDIR)/lesson.mk
	$(Q)harness/tools/lesson-objects.sh $(LDIR) '$(CALLS)' $(IMPL_OBJ)
	$(Q)touch $@

$(OUT)/run: $(TEST_OBJ) $(IMPL_OBJ) $(HARNESS_LIB) $(LESSON_OK) $(NOGIT)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LD_FAST) -o $@ $(TEST_OBJ) $(IMPL_OBJ) $(HARNESS_LIB) \
		$(CRITERION_LIBS) $(WRAP_LDFLAGS) $(LDLIBS_EXTRA) $(HARNESS_LDFLAGS) $(NOGIT_FLAGS)

$(BUILD)/$(LESSON_NAME)/tests/%.o: $(HDIR)/%.c | $(BUILD)/$(LESSON_NAME)/tests/
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) $(CRITERION_CFLAGS) $(INCLUDES) -c $< -o $@

# The code under test: a compile error names the file to fix.
define impl_rule
$(OUT)/impl/$(1:.c=.o): $(call source_of,$(1)) | $(OUT)/impl/
	$$(call say,CC,$$<)
	$(Q)$$(CC) $$(ALL_CFLAGS) $$(INCLUDES) -c $$< -o $$@ || { \
		printf '\n  %s does not compile: fix the error(s) above (each starts with file:line:column).\n\n' '$$<' >&2; \
		exit 1; }
endef
$(foreach f,$(STUDENT_FILES),$(eval $(call impl_rule,$(f))))

# A mutant's sources: a fresh copy of the reference's student files with the
# patch applied, exactly (no fuzz: a patch whose context changed must be
# rewritten, never applied somewhere near). Applied files are stamped, so a
# changed reference or patch rebuilds the mutant.
ifneq ($(MUTANT),)
REF_FILES := $(STUDENT_FILES:%=solutions/$(LESSON_NAME)/%)
$(IMPL_DIR)/.applied: $(PATCH) $(REF_FILES)
	$(call say,PATCH,$(PATCH))
	$(Q)rm -rf $(IMPL_DIR) && mkdir -p $(IMPL_DIR) && cp $(REF_FILES) $(IMPL_DIR)/
	$(Q)patch --batch --forward --fuzz=0 --no-backup-if-mismatch --reject-file=- --quiet \
		-p3 -d $(IMPL_DIR) -i $(abspath $(PATCH)) >$(IMPL_DIR)/.patch.log 2>&1 || { \
		sed 's/^/    /' $(IMPL_DIR)/.patch.log >&2; \
		printf '\n  mutant %s: %s no longer applies to the reference in solutions/%s/ (%s):\n  rewrite the patch against today'"'"'s reference (harness/tools/mutant.sh new %s %s, edit, save).\n\n' \
			'$(MUTANT)' '$(PATCH)' '$(LESSON_NAME)' '$(STUDENT_FILES)' '$(LESSON_NAME)' '$(MUTANT)' >&2; \
		rm -rf $(IMPL_DIR); exit 1; }
	$(Q)touch $@
$(STUDENT_FILES:%=$(IMPL_DIR)/%): $(IMPL_DIR)/.applied ;
endif

# Mutants were whole .c copies once: a build tree from those days names
# them in its .d files. Nothing to make for them (the object is rebuilt).
$(HDIR)/mutants/%.c: ;

-include $(IMPL_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(DRV_OBJ:.o=.d) $(SAN_IMPL_OBJ:.o=.d)

.PHONY: all

# Optional: harness/NN-name/pictures.c draws timelines of real runs of the
# implementation for the chapter (`make diagrams` runs it on the solution).
$(OUT)/pictures: $(HDIR)/pictures.c $(wildcard $(HDIR)/*.h) $(IMPL_OBJ) $(HARNESS_LIB) $(LESSON_OK) $(NOGIT)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(CRITERION_CFLAGS) $(INCLUDES) $(LD_FAST) -o $@ $< $(IMPL_OBJ) \
		$(HARNESS_LIB) $(CRITERION_LIBS) $(WRAP_LDFLAGS) $(LDLIBS_EXTRA) $(HARNESS_LDFLAGS) $(NOGIT_FLAGS)

# Optional: harness/NN-name/bench.c compares the implementation with real
# peers (`make bench LESSON=n`). BENCH_CFLAGS / BENCH_LDLIBS come from the
# lesson's lesson.mk (e.g. GLib, -fopenmp).
$(OUT)/bench: $(HDIR)/bench.c $(wildcard $(HDIR)/*.h) $(IMPL_OBJ) $(HARNESS_LIB) $(LESSON_OK)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(BENCH_CFLAGS) $(CRITERION_CFLAGS) $(INCLUDES) $(LD_FAST) -o $@ $< $(IMPL_OBJ) \
		$(HARNESS_LIB) $(CRITERION_LIBS) $(WRAP_LDFLAGS) $(LDLIBS_EXTRA) $(HARNESS_LDFLAGS) $(BENCH_LDLIBS)

# `make -f harness/mk/lesson.mk LESSON_NAME=... print-VAR`: a manifest
# value, expanded, for the scripts.
print-%:
	@echo '$($*)'

