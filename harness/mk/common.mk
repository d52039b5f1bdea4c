# common.mk - the build settings every atonce build shares (the course's
# Makefile.common). Included by the top Makefile and by lesson.mk.

CC       ?= cc
CRITERION_CFLAGS := $(shell pkg-config --cflags criterion 2>/dev/null)
CRITERION_LIBS   := $(shell pkg-config --libs criterion 2>/dev/null)

# Strict warnings, as in The Linux Programming Interface's code. Student code
# sees them as warnings; our own code (WERROR=1 in `make test`) as errors.
WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wwrite-strings -Wformat=2 -Wno-format-nonliteral
CFLAGS   ?= -O2 -g
# GNU extensions (sched_setaffinity, CPU_SET, gettid, accept4, ...) are
# declared for every file. Defined empty, exactly as the man pages'
# `#define _GNU_SOURCE` line defines it, so a student file that starts with
# that line compiles without a "redefined" warning (-D_GNU_SOURCE would
# define it as 1, and gcc warns when two definitions differ).
ALL_CFLAGS = -std=gnu11 -pthread -D_GNU_SOURCE= $(WARNINGS) $(CFLAGS) \
             $(if $(filter 1,$(WERROR)),-Werror) -MMD -MP

# Tests count the threads and processes the code under test creates (and
# the threads it joins) by routing its calls through harness/lib/at_count.c,
# which can also hold a woken condition-variable waiter until the test has
# made its changes.
WRAP_LDFLAGS := -Wl,--wrap=pthread_create -Wl,--wrap=pthread_join -Wl,--wrap=fork \
                -Wl,--wrap=pthread_cond_wait -Wl,--wrap=pthread_cond_timedwait

BUILD    ?= build
HARNESS_LIB := $(BUILD)/harness/libatonce.a
HARNESS_SRC := $(wildcard harness/lib/*.c)
HARNESS_OBJ := $(HARNESS_SRC:harness/lib/%.c=$(BUILD)/harness/%.o)

# Quiet build lines, liburing style: "  CC      harness/lib/at_latch.c".
# V=1 shows the whole command. Printed by make itself ($(info), expanded as
# the recipe starts), not by a printf: a process per line adds up when the
# grader builds ten lessons for each student of a class.
empty :=
say_fill = $(subst ., ,$(if $(filter CC LD AR,$(1)),.....,$(if $(filter GEN,$(1)),....,$(if $(filter TSAN ASAN,$(1)),...,..))))
ifeq ($(V),1)
  Q :=
  say =
else
  Q := @
  say = $(info $(empty)  $(1)$(say_fill) $(2))
endif

# gold links these programs in about 40% of ld.bfd's time (the grader
# links some twenty-five per student); ld.bfd where there is no gold.
LD_FAST := $(if $(wildcard $(addsuffix /ld.gold,$(subst :, ,$(PATH)))),-fuse-ld=gold)

$(BUILD)/harness/%.o: harness/lib/%.c | $(BUILD)/harness/
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) $(CRITERION_CFLAGS) -c $< -o $@

$(HARNESS_LIB): $(HARNESS_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# Test programs load a stand-in for Criterion's libgit2, which only draws
# the diffs of eq() assertions (none here), instead of the real one and the
# fifteen libraries behind it: harness/tools/criterion-nogit.sh says why.
# NOGIT_FLAGS: the link flags it wrote (read by make, no process), to be
# used by programs in $(BUILD)/NN-name/IMPL/ that depend on $(NOGIT).
NOGIT := $(BUILD)/harness/nogit/flags
NOGIT_FLAGS = $(file < $(NOGIT))
$(NOGIT): harness/tools/criterion-nogit.sh
	$(call say,GEN,$(@D))
	$(Q)harness/tools/criterion-nogit.sh $(@D)

# Folders, made once each (an order-only prerequisite, the name ending in
# "/"), rather than by a mkdir for every object.
%/:
	$(Q)mkdir -p $@

-include $(HARNESS_OBJ:.o=.d)
