#include "textflag.h"

// func adagradSSE(w, acc, grad *float32, n int, lr float32)
//
// AdaGrad on n values (n a multiple of 4), four at a time with SSE (every
// amd64 CPU has it): where g != 0, acc += g*g and w -= (lr*g)/sqrt(acc),
// the same IEEE operations in the same order as AdaGrad.UpdateRange, so
// the results are bit for bit the same; where g == 0 nothing changes.
TEXT ·adagradSSE(SB), NOSPLIT, $0-36
	MOVQ   w+0(FP), DI
	MOVQ   acc+8(FP), SI
	MOVQ   grad+16(FP), DX
	MOVQ   n+24(FP), CX
	MOVSS  lr+32(FP), X7
	SHUFPS $0, X7, X7 // lr in every lane
	XORPS  X6, X6     // zeros

loop:
	CMPQ   CX, $4
	JLT    done
	MOVUPS (DX), X0 // g
	MOVUPS (SI), X1 // acc
	MOVUPS (DI), X2 // w
	MOVAPS X0, X5
	CMPPS  X6, X5, $0 // X5 = g == 0 (the lanes that keep their values)
	MOVAPS X0, X3
	MULPS  X0, X3     // g*g
	ADDPS  X1, X3     // a = acc + g*g
	ANDPS  X5, X1     // acc where g == 0
	MOVAPS X5, X4
	ANDNPS X3, X4     // a where g != 0
	ORPS   X4, X1
	MOVUPS X1, (SI)
	SQRTPS X3, X3     // sqrt(a)
	MOVAPS X0, X4
	MULPS  X7, X4     // lr*g
	DIVPS  X3, X4     // lr*g / sqrt(a)
	MOVAPS X2, X1
	SUBPS  X4, X1     // w - lr*g/sqrt(a)
	ANDPS  X5, X2     // w where g == 0
	ANDNPS X1, X5     // updated w where g != 0
	ORPS   X5, X2
	MOVUPS X2, (DI)
	ADDQ   $16, DI
	ADDQ   $16, SI
	ADDQ   $16, DX
	SUBQ   $4, CX
	JMP    loop

done:
	RET
