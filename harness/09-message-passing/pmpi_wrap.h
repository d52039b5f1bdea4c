/* pmpi_wrap.h - lesson 09: the profiling layer's log, for the MPI driver. */
#ifndef PMPI_WRAP_H
#define PMPI_WRAP_H

#include "heat_wire.h"

#include <mpi.h>
#include <stdio.h>

void wire_attach(struct wire_slot *slot);   /* publish into this shared slot */
struct wire_slot *wire_me(void);
void wire_event(int kind, int a, int b);    /* append to this rank's log */
void wire_dump(FILE *f);                    /* write the log */
void wire_barrier(MPI_Comm comm);           /* a barrier that sleeps while it waits */

#endif
