#include "textflag.h"

// indexAny4 and indexAny8 return the index of the first byte of s, of
// at least 16 bytes, that is one of the first 4 or all 8 of set's, each
// given 16 times: 16 bytes of s at a time, with SSE2, which every amd64
// processor has.

// ARGS loads s into SI (base) and BX (length), and the first 4 bytes of
// set, 16 times each, into X1 to X4; R10 points at set.
#define ARGS \
	MOVQ	s_base+0(FP), SI \
	MOVQ	s_len+8(FP), BX \
	MOVQ	set+24(FP), R10 \
	MOVOU	0(R10), X1 \
	MOVOU	16(R10), X2 \
	MOVOU	32(R10), X3 \
	MOVOU	48(R10), X4

// EQ4 sets X5 to the bytes of X0 equal to one of X1 to X4 (0xff).
#define EQ4 \
	MOVOU	X0, X5 \
	PCMPEQB	X1, X5 \
	MOVOU	X0, X6 \
	PCMPEQB	X2, X6 \
	POR	X6, X5 \
	MOVOU	X0, X6 \
	PCMPEQB	X3, X6 \
	POR	X6, X5 \
	MOVOU	X0, X6 \
	PCMPEQB	X4, X6 \
	POR	X6, X5

// EQ8 sets X5 to the bytes of X0 equal to one of X1 to X4 and X8 to
// X11 (0xff).
#define EQ8 \
	EQ4 \
	MOVOU	X0, X6 \
	PCMPEQB	X8, X6 \
	POR	X6, X5 \
	MOVOU	X0, X6 \
	PCMPEQB	X9, X6 \
	POR	X6, X5 \
	MOVOU	X0, X6 \
	PCMPEQB	X10, X6 \
	POR	X6, X5 \
	PCMPEQB	X11, X0 \
	POR	X0, X5

// SCAN sets ret to the index of the first byte of s (SI, BX bytes, at
// least 16) that EQ marks, or -1: 16 bytes at a time, then the last 16
// again where s ends inside them, with the bits of the bytes already
// looked at cleared.
#define SCAN(EQ) \
	MOVQ	SI, DI \
	LEAQ	-16(SI)(BX*1), R9 \
loop: \
	CMPQ	DI, R9 \
	JA	last \
	MOVOU	(DI), X0 \
	EQ \
	PMOVMSKB	X5, DX \
	TESTL	DX, DX \
	JNZ	found \
	ADDQ	$16, DI \
	JMP	loop \
last: \
	LEAQ	16(R9), R8 \
	CMPQ	DI, R8 \
	JEQ	none \
	MOVOU	(R9), X0 \
	EQ \
	PMOVMSKB	X5, DX \
	MOVQ	DI, CX \
	SUBQ	R9, CX \
	SHRL	CX, DX \
	SHLL	CX, DX \
	TESTL	DX, DX \
	JZ	none \
	MOVQ	R9, DI \
found: \
	BSFL	DX, DX \
	SUBQ	SI, DI \
	ADDQ	DX, DI \
	MOVQ	DI, ret+32(FP) \
	RET \
none: \
	MOVQ	$-1, ret+32(FP) \
	RET

// func indexAny4(s []byte, set *[8][16]byte) int
TEXT ·indexAny4(SB), NOSPLIT, $0-40
	ARGS
	SCAN(EQ4)

// func indexAny8(s []byte, set *[8][16]byte) int
TEXT ·indexAny8(SB), NOSPLIT, $0-40
	ARGS
	MOVOU	64(R10), X8
	MOVOU	80(R10), X9
	MOVOU	96(R10), X10
	MOVOU	112(R10), X11
	SCAN(EQ8)
