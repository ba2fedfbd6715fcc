/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPython frames, shared by the BPF walker (python.bpf.h) and user space
 * (src/lang/): fixed-width fields only.
 *
 * User space finds an interpreter in a process (a mapped file with
 * _PyRuntime), learns its struct offsets (_Py_DebugOffsets on 3.13+, a
 * table per minor version before) and hands them to BPF with the address
 * of _PyRuntime in the process. BPF finds the sampled thread's
 * PyThreadState (the one whose thread_id, pthread_self(), is the thread's
 * fs base), follows its frame chain and appends one word per Python frame
 * after the native frames of the stack: the code object and the
 * instruction offset. User space names them from the code object.
 *
 * 3.11+ chain _PyInterpreterFrames (several to one eval-loop call); 3.8 to
 * 3.10 chain PyFrameObjects (tstate->frame, f_back, f_code, the int
 * f_lasti), each run by its own _PyEval_EvalFrameDefault call.
 */
#ifndef SYSSCOPE_PYTHON_H
#define SYSSCOPE_PYTHON_H

#define PY_NO_FIELD 0xffff

/* Offsets (bytes) into the interpreter's structs, per version. */
struct py_layout {
	__u16 runtime_interp_head;	/* _PyRuntime.interpreters.head */
	__u16 interp_threads_head;	/* PyInterpreterState.threads.head */
	__u16 tstate_next;
	__u16 tstate_thread_id;		/* pthread_self() of the thread */
	__u16 tstate_cframe;		/* 3.11, 3.12; PY_NO_FIELD else */
	__u16 current_frame;		/* in the cframe, or in the tstate */
	__u16 frame_code;		/* f_code / f_executable */
	__u16 frame_previous;		/* previous / f_back */
	__u16 frame_instr;		/* prev_instr (3.11, 3.12), instr_ptr;
					 * f_lasti before 3.11 */
	__u16 frame_owner;		/* a byte; PY_NO_FIELD before 3.11 */
	__u16 frame_is_entry;		/* 3.11's byte; PY_NO_FIELD else */
	__u16 code_adaptive;		/* co_code_adaptive: the bytecode */
};

/* PyFrameObjects (3.8-3.10), not _PyInterpreterFrames. */
#define PY_FRAME_OBJECTS(version) ((version) < 0x030b)
/* f_lasti counts instructions (3.10), not bytes (3.8, 3.9). */
#define PY_LASTI_UNITS(version) ((version) >= 0x030a)

/* _PyInterpreterFrame.owner of the eval loop's own entry frame (3.12+). */
#define PY_OWNED_BY_CSTACK 3

/* A process's interpreter; runtime 0: none. */
struct py_proc {
	__u64 runtime;			/* address of _PyRuntime */
	struct py_layout l;
	__u16 version;			/* 0x030b: 3.11, 0x0308: 3.8 */
	__u16 pad[3];
};

/*
 * One Python frame in a stack's ips, after the native ones: bit 63 tells
 * it from a native address (user addresses are below 2^47), bit 62 that
 * it is the outermost frame its _PyEval_EvalFrameDefault call runs (every
 * frame before 3.11), bits 47..61 the instruction offset in code units of
 * two bytes (capped), bits 0..46 the code object.
 */
#define PY_FRAME_TAG (1ULL << 63)
#define PY_FRAME_ENTRY (1ULL << 62)
#define PY_FRAME_INSTR_SHIFT 47
#define PY_FRAME_INSTR_MAX 0x7fffULL
#define PY_FRAME_ADDR_MASK ((1ULL << 47) - 1)
#define PY_FRAME(code, instr, entry) (PY_FRAME_TAG |			\
	((entry) ? PY_FRAME_ENTRY : 0) |				\
	((__u64)(instr) << PY_FRAME_INSTR_SHIFT) |			\
	((code) & PY_FRAME_ADDR_MASK))
#define PY_FRAME_IS(w) (((w) & PY_FRAME_TAG) != 0)
#define PY_FRAME_CODE(w) ((w) & PY_FRAME_ADDR_MASK)
#define PY_FRAME_INSTR(w) (((w) >> PY_FRAME_INSTR_SHIFT) & PY_FRAME_INSTR_MAX)
#define PY_FRAME_IS_ENTRY(w) (((w) & PY_FRAME_ENTRY) != 0)

/* Threads of an interpreter looked at for the sampled one. */
#define PY_MAX_THREADS 64
/* Python frames of a stack, at most (and no more than room left). */
#define PY_MAX_FRAMES 96

#endif
