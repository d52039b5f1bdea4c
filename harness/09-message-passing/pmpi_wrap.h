/* pmpi_wrap.h - lesson 09: the profiling layer's log, for the MPI driver. */
#ifndef PMPI_WRAP_H
#define PMPI_WRAP_H

#include "heat_wire.h"

#include <mpi.h>
#include <stdio.h>

/* A new run: an empty log, no request in flight, the live state published
 * into slot (NULL: nowhere). partial: the run has fewer ranks than the job,
 * so a call on MPI_COMM_WORLD is noted in slot->world. */
void wire_attach(struct wire_slot *slot, int partial);
struct wire_slot *wire_me(void);
void wire_event(int kind, int a, int b);    /* append to this rank's log */
void wire_dump(FILE *f);                    /* write the log */
void wire_barrier(MPI_Comm comm);           /* a barrier that sleeps while it waits */
int wire_wait(int rc, MPI_Request *r);      /* the driver's request (rc: its post), the same way */

#endif
