# Lesson 09's manifest: the files the student writes (the grader takes only
# these), extra libraries, and the whole run's time limit in seconds.
STUDENT_FILES := heat.c
RUN_TIMEOUT   := 240

# heat.c is MPI code. The test binary itself runs no MPI (it starts jobs),
# but it links the student's object, compiled here against MPICH's mpi.h
# (else Open MPI's). The real runs use the programs built below, one per
# MPI: MPICH and Open MPI disagree on what an MPI_Comm is, so each needs
# its own build. GCC 12 misreads MPICH's MPI_STATUSES_IGNORE (a pointer
# of value 1) as a zero-sized array: -Wno-stringop-overflow.
MPI_PC        := $(firstword $(foreach p,mpich ompi-c,$(shell pkg-config --exists $(p) 2>/dev/null && echo $(p))))
LDLIBS_EXTRA  := $(if $(MPI_PC),$(shell pkg-config --cflags --libs $(MPI_PC)))
MPI_INC       := $(if $(MPI_PC),$(shell pkg-config --cflags $(MPI_PC)))
ALL_CFLAGS    += $(MPI_INC) -Wno-stringop-overflow

# The MPI standard's calls the student may use (and Open MPI's names for
# MPI_DOUBLE, MPI_MAX, ..., which are symbols there). No buffered sends
# (MPI_Bsend) and no MPI_Test: every call listed is one pmpi_wrap.c sees.
CALLS := MPI_Comm_rank MPI_Comm_size MPI_Send MPI_Ssend MPI_Recv MPI_Sendrecv \
         MPI_Isend MPI_Issend MPI_Irecv MPI_Wait MPI_Waitall MPI_Waitany MPI_Waitsome \
         MPI_Allreduce MPI_Reduce MPI_Bcast MPI_Gather MPI_Gatherv MPI_Allgather MPI_Barrier \
         MPI_Wtime MPI_Error_string \
         ompi_mpi_double ompi_mpi_int ompi_mpi_op_max ompi_mpi_op_min ompi_mpi_op_sum \
         ompi_request_null ompi_mpi_comm_world ompi_mpi_comm_self ompi_mpi_comm_null ompi_mpi_byte

# The programs the tests run (harness/09-message-passing/mpi_driver.c with
# the code under test): $ATONCE_OUT/mpi/heat-mpich and heat-openmpi with the
# PMPI layer (pmpi_wrap.c), heat-smpi for the simulated cluster, and the
# cluster itself (cluster.xml, hosts.txt). One per MPI found on this machine.
M_TAG  := $(if $(filter mutant:%,$(IMPL)),mutant-$(patsubst mutant:%,%,$(IMPL)),$(IMPL))
M_SRC  := $(if $(filter mutant:%,$(IMPL)),$(BUILD)/$(LESSON_NAME)/$(M_TAG)/src,$(if $(filter solution,$(IMPL)),solutions,lessons)/$(LESSON_NAME))
M_OUT  := $(BUILD)/$(LESSON_NAME)/$(M_TAG)/mpi
M_HDIR := harness/$(LESSON_NAME)
M_FLAGS = $(filter-out -MMD -MP -pthread $(MPI_INC),$(ALL_CFLAGS)) -I$(LDIR) -I$(M_HDIR)
M_DEPS  = $(M_HDIR)/heat_wire.h $(LDIR)/heat.h $(M_SRC)/heat.c $(BUILD)/$(LESSON_NAME)/$(M_TAG)/impl/.lesson-ok
M_PROGS := $(if $(shell command -v mpicc.mpich),$(M_OUT)/heat-mpich) \
           $(if $(shell command -v mpicc.openmpi),$(M_OUT)/heat-openmpi) \
           $(if $(shell command -v smpicc),$(M_OUT)/heat-smpi $(M_OUT)/cluster.xml $(M_OUT)/hosts.txt)
# The benchmark times the MPI library alone: a build without pmpi_wrap.c.
M_PLAIN := $(if $(shell command -v mpicc.mpich),$(M_OUT)/plain-mpich,$(if $(shell command -v mpicc.openmpi),$(M_OUT)/plain-openmpi))

tests: $(M_PROGS)
$(BUILD)/$(LESSON_NAME)/$(M_TAG)/bench: $(M_PROGS) $(M_PLAIN)
$(BUILD)/$(LESSON_NAME)/$(M_TAG)/pictures: $(M_PROGS)

# The harness's side is compiled once per MPI, for every implementation
# (make test builds a dozen): only heat.c is compiled per implementation.
M_OBJ := $(BUILD)/$(LESSON_NAME)/mpi-objs
M_CC_mpich := mpicc.mpich
M_CC_openmpi := mpicc.openmpi
M_CC_smpi := smpicc
M_DEF_smpi := -DHEAT_SMPI
# The wrappers cost ten times the compile of heat.c: what they add to the
# compiler's command is asked once (mpi-show.sh) and the compiler called
# directly, with their flags before and after ours, as they would place
# them. Without that file, the wrappers themselves. (Not for `make
# print-VAR`: its output is the value, and nothing is built for it.)
ifeq ($(filter print-%,$(MAKECMDGOALS)),)
-include $(M_OBJ)/wrappers.mk
endif
m_cc = $(M_CC_$(1)) $(M_CPRE_$(1)) $(2) $(M_CPOST_$(1))
m_ld = $(M_CC_$(1)) $(M_LPRE_$(1)) $(2) $(M_LPOST_$(1))

$(M_OBJ)/wrappers.mk: $(M_HDIR)/mpi-show.sh | $(M_OBJ)/
	$(call say,GEN,$@)
	$(Q)$< >$@.$$$$ && mv $@.$$$$ $@

$(M_OBJ)/driver-%.o: $(M_HDIR)/mpi_driver.c $(M_HDIR)/heat_wire.h $(M_HDIR)/pmpi_wrap.h $(LDIR)/heat.h | $(M_OBJ)/
	$(call say,CC,$@)
	$(Q)$(call m_cc,$*,$(M_FLAGS) $(M_DEF_$*) -c -o $@ $<) 2>$@.log || { cat $@.log >&2; exit 1; }

$(M_OBJ)/plain-%.o: $(M_HDIR)/mpi_driver.c $(M_HDIR)/heat_wire.h $(LDIR)/heat.h | $(M_OBJ)/
	$(call say,CC,$@)
	$(Q)$(call m_cc,$*,$(M_FLAGS) -DHEAT_PLAIN -c -o $@ $<)

$(M_OBJ)/wrap-%.o: $(M_HDIR)/pmpi_wrap.c $(M_HDIR)/heat_wire.h $(M_HDIR)/pmpi_wrap.h | $(M_OBJ)/
	$(call say,CC,$@)
	$(Q)$(call m_cc,$*,$(M_FLAGS) -c -o $@ $<)

# The code under test, once per MPI (smpicc: its globals become private to
# each simulated rank).
$(M_OUT)/heat-%.o: $(M_DEPS) | $(M_OUT)/
	$(call say,CC,$@)
	$(Q)$(call m_cc,$*,$(M_FLAGS) $(M_DEF_$*) -c -o $@ $(M_SRC)/heat.c) 2>$@.log || { cat $@.log >&2; exit 1; }

$(M_OUT)/heat-mpich $(M_OUT)/heat-openmpi: $(M_OUT)/heat-%: $(M_OBJ)/driver-%.o $(M_OBJ)/wrap-%.o $(M_OUT)/heat-%.o
	$(call say,LD,$@)
	$(Q)$(call m_ld,$*,$(LD_FAST) -o $@ $^)

$(M_OUT)/heat-smpi: $(M_OBJ)/driver-smpi.o $(M_OUT)/heat-smpi.o
	$(call say,LD,$@)
	$(Q)$(call m_ld,smpi,$(LD_FAST) -o $@ $^) 2>$@.log || { cat $@.log >&2; exit 1; }

$(M_OUT)/plain-%: $(M_OBJ)/plain-%.o $(M_OUT)/heat-%.o
	$(call say,LD,$@)
	$(Q)$(call m_ld,$*,$(LD_FAST) -o $@ $^)

$(M_OUT)/cluster.xml: $(M_HDIR)/cluster.xml | $(M_OUT)/
	$(Q)cp $< $@

$(M_OUT)/hosts.txt: | $(M_OUT)/
	$(Q)for i in $$(seq 0 63); do echo node-$$i.rack; done >$@

# Mutants whose mistake is a race or a wait that does not wait: `make test`
# runs each one's whole suite twice and wants the same verdicts both times.
RACY_MUTANTS  :=
BENCH_LDLIBS  := -lm
