/*
 * pmpi_wrap.c - lesson 09: the profiling layer linked into the MPI driver.
 *
 * The MPI standard lets a tool define MPI_Send itself and reach the
 * library's through PMPI_Send: the code under test calls our MPI_* and
 * cannot tell. Here:
 *
 *   - every send is synchronous (MPI_Send -> PMPI_Issend, MPI_Isend ->
 *     PMPI_Issend): a send completes only once the matching receive has
 *     started, as the standard allows for any send. An exchange that only
 *     works while the library buffers small messages deadlocks every time,
 *     instead of once in a while on a bigger message or another MPI;
 *   - every blocking call (a wait, a blocking send or receive, a
 *     collective) says in the shared slot that this rank is blocked, and on
 *     whom, so the test can see a cycle of ranks each waiting on the next;
 *     waits poll PMPI_Test so that the slot stays current, collectives
 *     too (as their nonblocking forms); a wait that finds nothing done
 *     backs off to sleeping, so that ranks waiting for a descheduled
 *     neighbour leave it the CPU instead of spinning (four ranks share
 *     two CPUs here, and the grader runs other students beside them);
 *   - every call is logged in order with the kernel's calls (see
 *     mpi_driver.c), so the test can tell whether the requests were posted
 *     before the interior was computed and waited for after;
 *   - in a run on fewer ranks than the job, a call on MPI_COMM_WORLD
 *     instead of the communicator heat_run() was given is noted: it
 *     reaches ranks that are not in the run, and the run hangs or fails,
 *     so the test can say why.
 */
#include "heat_wire.h"
#include "pmpi_wrap.h"

#include <mpi.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static struct wire_slot scratch;          /* when no wire file was given */
static struct wire_slot *me = &scratch;
static int partial;                       /* the run has fewer ranks than the job */

#define MAX_EVENTS (1 << 18)
static struct { int kind, a, b; long long t_ns; } events[MAX_EVENTS];
static int n_events, lost_events;

/* The peer of each request still in flight, to say whom a wait waits on. */
#define MAX_REQS 256
static struct {
	MPI_Request req;
	int used, peer, send;
} reqs[MAX_REQS];

void wire_attach(struct wire_slot *slot, int part)
{
	/* Each run's log starts empty, and a request that a faulty run left
	 * in flight must not be taken for one of the next run's. */
	memset(&scratch, 0, sizeof(scratch));
	me = slot ? slot : &scratch;
	partial = part;
	n_events = lost_events = 0;
	memset(reqs, 0, sizeof(reqs));
}

struct wire_slot *wire_me(void)
{
	return me;
}

/* The same clock in every process of this machine: a timeline of the ranks. */
static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

void wire_event(int kind, int a, int b)
{
	if (n_events == MAX_EVENTS) {
		lost_events++;
		return;
	}
	events[n_events].kind = kind;
	events[n_events].a = a;
	events[n_events].b = b;
	events[n_events].t_ns = now_ns();
	n_events++;
	__atomic_add_fetch(&me->progress, 1, __ATOMIC_RELAXED);
}

void wire_dump(FILE *f)
{
	fprintf(f, "lost %d\n", lost_events);
	for (int i = 0; i < n_events; i++)
		fprintf(f, "ev %d %d %d %lld\n", events[i].kind, events[i].a, events[i].b, events[i].t_ns);
}

/* Note the first call on MPI_COMM_WORLD where it is not the run's world. */
static void check_comm(MPI_Comm comm, const char *call)
{
	if (partial && comm == MPI_COMM_WORLD && !me->world[0])
		snprintf(me->world, sizeof(me->world), "%s", call);
}

static int peer_code(int rank)
{
	if (rank == MPI_PROC_NULL)
		return WIRE_NOBODY;
	if (rank == MPI_ANY_SOURCE)
		return WIRE_ANY;
	return rank;
}

static void remember(MPI_Request r, int peer, int send)
{
	for (int i = 0; i < MAX_REQS; i++)
		if (!reqs[i].used) {
			reqs[i].used = 1;
			reqs[i].req = r;
			reqs[i].peer = peer;
			reqs[i].send = send;
			return;
		}
}

static void forget(MPI_Request r)
{
	for (int i = 0; i < MAX_REQS; i++)
		if (reqs[i].used && reqs[i].req == r)
			reqs[i].used = 0;
}

static void blocked_on(int op, MPI_Request r)
{
	for (int i = 0; i < MAX_REQS; i++)
		if (reqs[i].used && reqs[i].req == r) {
			__atomic_store_n(&me->peer, reqs[i].peer, __ATOMIC_RELAXED);
			__atomic_store_n(&me->peer_send, reqs[i].send, __ATOMIC_RELAXED);
			break;
		}
	snprintf(me->op, sizeof(me->op), "%s", wire_op_name[op]);
	__atomic_store_n(&me->waiting, 1, __ATOMIC_RELEASE);
}

static void unblocked(void)
{
	__atomic_store_n(&me->waiting, 0, __ATOMIC_RELEASE);
	__atomic_add_fetch(&me->progress, 1, __ATOMIC_RELAXED);
}

/*
 * One more round of a wait that found nothing done: yield for the first
 * rounds (a message between ranks that both run takes microseconds), then
 * sleep, 20 us doubling to 1 ms. Each wait starts again from a yield.
 */
static void back_off(int *rounds)
{
	struct timespec ts = { 0, 0 };
	int r = (*rounds)++;

	if (r < 32) {
		sched_yield();
		return;
	}
	ts.tv_nsec = r - 32 < 6 ? 20000L << (r - 32) : 1000000L;
	nanosleep(&ts, NULL);
}

/*
 * Wait for reqs[0..count) by polling: `want` of them (count for Waitall,
 * 1 for Wait/Waitany, >= 1 for Waitsome). Marks this rank blocked on the
 * first request still pending, refreshed as they complete.
 */
static int poll_requests(int op, int count, MPI_Request r[], MPI_Status st[], int all,
			 int *index, int *outcount, int indices[])
{
	int done = 0, rc = MPI_SUCCESS, pending, rounds = 0;

	if (index)
		*index = MPI_UNDEFINED;
	if (outcount)
		*outcount = 0;
	for (;;) {
		pending = 0;
		for (int i = 0; i < count; i++) {
			MPI_Request was = r[i];
			int flag = 0;

			if (was == MPI_REQUEST_NULL)
				continue;
			rc = PMPI_Test(&r[i], &flag, st == MPI_STATUSES_IGNORE ? MPI_STATUS_IGNORE : &st[i]);
			if (rc != MPI_SUCCESS)
				goto out;
			if (!flag) {
				if (!pending)
					blocked_on(op, was);
				pending++;
				continue;
			}
			forget(was);
			__atomic_add_fetch(&me->progress, 1, __ATOMIC_RELAXED);
			done++;
			if (index && *index == MPI_UNDEFINED) {
				*index = i;
				goto out;
			}
			if (indices)
				indices[(*outcount)++] = i;
		}
		if (!pending || (!all && done > 0))
			break;
		back_off(&rounds);
	}
out:
	unblocked();
	return rc;
}

/* ---- sends: all synchronous --------------------------------------------- */

int MPI_Isend(const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm,
	      MPI_Request *req)
{
	int rc;

	check_comm(comm, "MPI_Isend");
	rc = PMPI_Issend(buf, count, type, dest, tag, comm, req);
	wire_event(EV_POST_SEND, peer_code(dest), tag);
	if (rc == MPI_SUCCESS)
		remember(*req, peer_code(dest), 1);
	return rc;
}

int MPI_Issend(const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm,
	       MPI_Request *req)
{
	check_comm(comm, "MPI_Issend");
	return MPI_Isend(buf, count, type, dest, tag, comm, req);
}

int MPI_Irecv(void *buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm,
	      MPI_Request *req)
{
	int rc;

	check_comm(comm, "MPI_Irecv");
	rc = PMPI_Irecv(buf, count, type, source, tag, comm, req);
	wire_event(EV_POST_RECV, peer_code(source), tag);
	if (rc == MPI_SUCCESS)
		remember(*req, peer_code(source), 0);
	return rc;
}

static int blocking_send(int op, const void *buf, int count, MPI_Datatype type, int dest, int tag,
			 MPI_Comm comm)
{
	MPI_Request r;
	int rc;

	check_comm(comm, wire_op_name[op]);
	wire_event(EV_BLOCK, op, peer_code(dest));
	rc = PMPI_Issend(buf, count, type, dest, tag, comm, &r);
	if (rc == MPI_SUCCESS) {
		remember(r, peer_code(dest), 1);
		rc = poll_requests(op, 1, &r, MPI_STATUSES_IGNORE, 1, NULL, NULL, NULL);
	}
	wire_event(EV_UNBLOCK, op, 0);
	return rc;
}

int MPI_Send(const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm)
{
	return blocking_send(OP_SEND, buf, count, type, dest, tag, comm);
}

int MPI_Ssend(const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm)
{
	return blocking_send(OP_SSEND, buf, count, type, dest, tag, comm);
}

int MPI_Recv(void *buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm,
	     MPI_Status *status)
{
	MPI_Request r;
	int rc;

	check_comm(comm, "MPI_Recv");
	wire_event(EV_BLOCK, OP_RECV, peer_code(source));
	rc = PMPI_Irecv(buf, count, type, source, tag, comm, &r);
	if (rc == MPI_SUCCESS) {
		remember(r, peer_code(source), 0);
		rc = poll_requests(OP_RECV, 1, &r, status == MPI_STATUS_IGNORE ? MPI_STATUSES_IGNORE : status,
				   1, NULL, NULL, NULL);
	}
	wire_event(EV_UNBLOCK, OP_RECV, 0);
	return rc;
}

int MPI_Sendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag,
		 void *recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag,
		 MPI_Comm comm, MPI_Status *status)
{
	MPI_Request r[2] = { MPI_REQUEST_NULL, MPI_REQUEST_NULL };
	MPI_Status st[2];
	int rc;

	check_comm(comm, "MPI_Sendrecv");
	wire_event(EV_BLOCK, OP_SENDRECV, peer_code(source));
	rc = PMPI_Irecv(recvbuf, recvcount, recvtype, source, recvtag, comm, &r[0]);
	if (rc == MPI_SUCCESS) {
		remember(r[0], peer_code(source), 0);
		rc = PMPI_Issend(sendbuf, sendcount, sendtype, dest, sendtag, comm, &r[1]);
	}
	if (rc == MPI_SUCCESS) {
		remember(r[1], peer_code(dest), 1);
		rc = poll_requests(OP_SENDRECV, 2, r, st, 1, NULL, NULL, NULL);
	}
	if (rc == MPI_SUCCESS && status != MPI_STATUS_IGNORE)
		*status = st[0];
	wire_event(EV_UNBLOCK, OP_SENDRECV, 0);
	return rc;
}

/* ---- waits ---------------------------------------------------------------- */

int MPI_Wait(MPI_Request *req, MPI_Status *status)
{
	int rc;

	wire_event(EV_BLOCK, OP_WAIT, 0);
	rc = poll_requests(OP_WAIT, 1, req, status == MPI_STATUS_IGNORE ? MPI_STATUSES_IGNORE : status,
			   1, NULL, NULL, NULL);
	wire_event(EV_UNBLOCK, OP_WAIT, 0);
	return rc;
}

int MPI_Waitall(int count, MPI_Request reqv[], MPI_Status st[])
{
	int rc;

	wire_event(EV_BLOCK, OP_WAITALL, count);
	rc = poll_requests(OP_WAITALL, count, reqv, st, 1, NULL, NULL, NULL);
	wire_event(EV_UNBLOCK, OP_WAITALL, 0);
	return rc;
}

int MPI_Waitany(int count, MPI_Request reqv[], int *index, MPI_Status *status)
{
	MPI_Status st[64];
	int rc;

	if (count > 64)
		return PMPI_Waitany(count, reqv, index, status);
	wire_event(EV_BLOCK, OP_WAITANY, count);
	rc = poll_requests(OP_WAITANY, count, reqv, st, 0, index, NULL, NULL);
	if (rc == MPI_SUCCESS && status != MPI_STATUS_IGNORE && *index != MPI_UNDEFINED)
		*status = st[*index];
	wire_event(EV_UNBLOCK, OP_WAITANY, 0);
	return rc;
}

int MPI_Waitsome(int count, MPI_Request reqv[], int *outcount, int indices[], MPI_Status st[])
{
	int rc;

	wire_event(EV_BLOCK, OP_WAITSOME, count);
	rc = poll_requests(OP_WAITSOME, count, reqv, st, 0, NULL, outcount, indices);
	if (rc == MPI_SUCCESS && *outcount == 0)
		*outcount = MPI_UNDEFINED;
	wire_event(EV_UNBLOCK, OP_WAITSOME, 0);
	return rc;
}

/* ---- collectives: blocked on everybody until they return ----------------- */

static void coll_end(int op)
{
	unblocked();
	wire_event(EV_COLL_END, op, 0);
}

static void coll_begin(int op, MPI_Comm comm)
{
	check_comm(comm, wire_op_name[op]);
	wire_event(EV_COLL, op, 0);
	__atomic_store_n(&me->peer, WIRE_ALL, __ATOMIC_RELAXED);
	snprintf(me->op, sizeof(me->op), "%s", wire_op_name[op]);
	__atomic_store_n(&me->waiting, 1, __ATOMIC_RELEASE);
}

/* A request just posted (rc: the post's result), waited for by polling:
 * the collectives' nonblocking forms, and the driver's own requests. */
int wire_wait(int rc, MPI_Request *r)
{
	int flag = 0, rounds = 0;

	while (rc == MPI_SUCCESS) {
		rc = PMPI_Test(r, &flag, MPI_STATUS_IGNORE);
		if (flag)
			break;
		back_off(&rounds);
	}
	return rc;
}

/* The driver's own barrier: neither logged nor a wait of the code under
 * test, but polled like one, so that the ranks already through MPI_Init()
 * leave the CPU to those still in it. */
void wire_barrier(MPI_Comm comm)
{
	MPI_Request r;

	wire_wait(PMPI_Ibarrier(comm, &r), &r);
}

int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype type, MPI_Op op,
		  MPI_Comm comm)
{
	MPI_Request r;
	int rc;

	coll_begin(OP_ALLREDUCE, comm);
	rc = wire_wait(PMPI_Iallreduce(sendbuf, recvbuf, count, type, op, comm, &r), &r);
	coll_end(OP_ALLREDUCE);
	return rc;
}

int MPI_Reduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype type, MPI_Op op,
	       int root, MPI_Comm comm)
{
	MPI_Request r;
	int rc;

	coll_begin(OP_REDUCE, comm);
	rc = wire_wait(PMPI_Ireduce(sendbuf, recvbuf, count, type, op, root, comm, &r), &r);
	coll_end(OP_REDUCE);
	return rc;
}

int MPI_Bcast(void *buf, int count, MPI_Datatype type, int root, MPI_Comm comm)
{
	MPI_Request r;
	int rc;

	coll_begin(OP_BCAST, comm);
	rc = wire_wait(PMPI_Ibcast(buf, count, type, root, comm, &r), &r);
	coll_end(OP_BCAST);
	return rc;
}

int MPI_Gather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
	       int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm)
{
	MPI_Request r;
	int rc;

	coll_begin(OP_GATHER, comm);
	rc = wire_wait(PMPI_Igather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm,
				    &r), &r);
	coll_end(OP_GATHER);
	return rc;
}

int MPI_Gatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
		const int recvcounts[], const int displs[], MPI_Datatype recvtype, int root,
		MPI_Comm comm)
{
	MPI_Request r;
	int rc;

	coll_begin(OP_GATHERV, comm);
	rc = wire_wait(PMPI_Igatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, root,
				     comm, &r), &r);
	coll_end(OP_GATHERV);
	return rc;
}

int MPI_Allgather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf,
		  int recvcount, MPI_Datatype recvtype, MPI_Comm comm)
{
	MPI_Request r;
	int rc;

	coll_begin(OP_ALLGATHER, comm);
	rc = wire_wait(PMPI_Iallgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm, &r), &r);
	coll_end(OP_ALLGATHER);
	return rc;
}

int MPI_Barrier(MPI_Comm comm)
{
	MPI_Request r;
	int rc;

	coll_begin(OP_BARRIER, comm);
	rc = wire_wait(PMPI_Ibarrier(comm, &r), &r);
	coll_end(OP_BARRIER);
	return rc;
}

/* ---- who am I: not blocking, only checked for the communicator ---------- */

int MPI_Comm_rank(MPI_Comm comm, int *rank)
{
	check_comm(comm, "MPI_Comm_rank");
	return PMPI_Comm_rank(comm, rank);
}

int MPI_Comm_size(MPI_Comm comm, int *size)
{
	check_comm(comm, "MPI_Comm_size");
	return PMPI_Comm_size(comm, size);
}
