# selftest.mk - build the harness's own tests.
#   build/selftest/run           harness/selftest/test_*.c: each primitive
#                                passing correct code and rejecting wrong code
#   build/selftest/runner_cases  harness/selftest/runner/cases.c: tests that
#                                misbehave on purpose, to check the runner's verdicts
.DEFAULT_GOAL := all
include harness/mk/common.mk

ST_SRC := $(wildcard harness/selftest/test_*.c)
ST_OBJ := $(ST_SRC:harness/selftest/%.c=$(BUILD)/selftest/%.o)

all: $(BUILD)/selftest/run $(BUILD)/selftest/runner_cases

$(BUILD)/selftest/%.o: harness/selftest/%.c | $(BUILD)/selftest/
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) $(CRITERION_CFLAGS) -Iharness/lib -c $< -o $@

$(BUILD)/selftest/run: $(ST_OBJ) $(HARNESS_LIB)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(ST_OBJ) $(HARNESS_LIB) $(CRITERION_LIBS) $(WRAP_LDFLAGS)

$(BUILD)/selftest/runner_cases: harness/selftest/runner/cases.c $(HARNESS_LIB) | $(BUILD)/selftest/
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) $(CRITERION_CFLAGS) -Iharness/lib -o $@ $< $(HARNESS_LIB) \
		$(CRITERION_LIBS) $(WRAP_LDFLAGS)

-include $(ST_OBJ:.o=.d)
.PHONY: all
