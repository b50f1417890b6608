/* The machine's achievable rate for one fused kernel's operation mix (benchmarks/bench_kernel_floor.py).

   Compiled with the fused kernel's flags (sd.backends.fused.cpu) after sd's PRELUDE (``-include``: the
   kernel's own SD_W, SD_LANES, sd_vexp/sd_vlog/sd_vpow), with the counts of one draw-step of the kernel
   as macros: N_ADD (+ -), N_MUL, N_DIV, N_SEL (a comparison and a select), N_EXP, N_LOG, N_POW, and G,
   the arithmetic operations per lane loop (the kernel's equations hold several). Each "step" runs, for
   SD_W lanes side by side, N_x operations of each kind as lane loops over a pool of NV lane arrays that
   stays in L1 (inputs in [0.9, 1.1], never written, so no value drifts to a slow path): arithmetic in
   loops of G chained operations (loads of G + 1 inputs, one store), exp/log/pow as the kernel calls them
   (fill a lane array, sd_vexp/sd_vlog/sd_vpow over it in place, store). So it is the kernel's work with
   none of the kernel's structure (no dependencies between equations, no state, a working set in L1): a
   floor, not a model of the kernel.

   Usage: opmix_floor STEPS (per repeat, best of 50)  -> prints "ns_per_draw_step <x>" and "ghz_estimate <y>" (a dependent chain
   of scalar additions, 3 cycles each on Zen 2/3/4 and recent Intel cores). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef NV
#define NV 32
#endif
#ifndef G
#define G 4
#endif

/* inputs and outputs in one pool, the outputs 3 lane arrays (768 bytes) past a multiple of 4 KiB from
   their inputs (loads at the address bits of a recent store stall: "4K aliasing") */
static double POOL[2 * NV + 3][SD_W] __attribute__((aligned(64)));
#define IN POOL
#define OUT (POOL + NV + 3)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* one lane loop of G chained operations (G <= 8, a compile-time constant: straight-line code that the
   compiler vectorises over the lanes), and a single operation for the remainder */
#define STEP(k, OP) if (G > k) x = OP;
#define CHAIN(NAME, OP)                                                                             \
    static void NAME##_g(double* restrict o, const double* restrict a, const double* restrict b)    \
    {                                                                                               \
        SD_LANES {                                                                                  \
            double x = a[l];                                                                        \
            STEP(0, OP) STEP(1, OP) STEP(2, OP) STEP(3, OP) STEP(4, OP) STEP(5, OP) STEP(6, OP)     \
            STEP(7, OP) o[l] = x;                                                                   \
        }                                                                                           \
    }                                                                                               \
    static void NAME##_1(double* restrict o, const double* restrict a, const double* restrict b)    \
    {                                                                                               \
        SD_LANES { double x = a[l]; x = OP; o[l] = x; }                                             \
    }
CHAIN(op_add, x + b[l])
CHAIN(op_mul, x * b[l])
CHAIN(op_div, x / b[l])
CHAIN(op_sel, (x <= b[l] ? b[l] : x))

/* The step's lane loops, interleaved as in a kernel (each next loop from the kind furthest behind its
   share), so that the divider, the adders and the multipliers overlap: kinds 0-3 are G (or fewer, the
   remainder) chained + - * / or selects, 4-6 one exp, log or pow over a lane array. */
enum { K_ADD, K_MUL, K_DIV, K_SEL, K_EXP, K_LOG, K_POW, NKIND };
#define MAXLOOPS (N_ADD + N_MUL + N_DIV + N_SEL + N_EXP + N_LOG + N_POW + 1)
static unsigned char SEQ[MAXLOOPS];
static unsigned char FULL[MAXLOOPS];  /* 1: a loop of G operations, 0: a single one */
static int NSEQ = 0;

static void build_sequence(void) {
    const int ops[NKIND] = {N_ADD, N_MUL, N_DIV, N_SEL, N_EXP, N_LOG, N_POW};
    int loops[NKIND], done[NKIND] = {0}, left[NKIND], total = 0;
    for (int c = 0; c < NKIND; c++) {
        loops[c] = c < K_EXP ? (ops[c] + G - 1) / G : ops[c];
        left[c] = ops[c];
        total += loops[c];
    }
    for (int i = 0; i < total; i++) {
        int pick = -1;
        double lag = -1.0;
        for (int c = 0; c < NKIND; c++) {
            if (done[c] == loops[c]) continue;
            double behind = (double)(i + 1) * loops[c] / total - done[c];
            if (behind > lag) { lag = behind; pick = c; }
        }
        SEQ[NSEQ] = (unsigned char)pick;
        FULL[NSEQ] = (unsigned char)(pick >= K_EXP || left[pick] >= G);
        left[pick] -= pick >= K_EXP ? 1 : (left[pick] >= G ? G : left[pick]);
        done[pick]++;
        NSEQ++;
    }
}

static void call(int which, double* restrict o, const double* restrict a, const double* restrict b) {
    double t[SD_W], u[SD_W];
    SD_LANES t[l] = a[l];
    if (which == K_EXP) sd_vexp(t);
    else if (which == K_LOG) sd_vlog(t);
    else { SD_LANES u[l] = b[l]; sd_vpow(t, u); }
    SD_LANES o[l] = t[l];
}

static void step(void) {
    for (int k = 0; k < NSEQ; k++) {
        double* o = OUT[k % NV];
        const double* a = IN[k % NV];
        const double* b = IN[(k + 1) % NV];
        int full = FULL[k];
        switch (SEQ[k]) {
        case K_ADD: if (full) op_add_g(o, a, b); else op_add_1(o, a, b); break;
        case K_MUL: if (full) op_mul_g(o, a, b); else op_mul_1(o, a, b); break;
        case K_DIV: if (full) op_div_g(o, a, b); else op_div_1(o, a, b); break;
        case K_SEL: if (full) op_sel_g(o, a, b); else op_sel_1(o, a, b); break;
        default: call(SEQ[k], o, a, b);
        }
    }
}

static double ghz_estimate(void) {
    volatile double seed = 1.0;
    double x = seed, y = 1e-9;
    const long n = 200000000L;
    double t0 = now();
    for (long i = 0; i < n; i++) x = x + y;
    double t1 = now();
    seed = x;
    return 3.0 * (double)n / (t1 - t0) / 1e9;
}

int main(int argc, char** argv) {
    long steps = argc > 1 ? atol(argv[1]) : 2000;
    for (int v = 0; v < NV; v++)
        SD_LANES IN[v][l] = 0.9 + 0.2 * (double)((v * SD_W + l) % 97) / 96.0;
    build_sequence();
    for (long s = 0; s < steps / 10; s++) step();  /* warm-up */
    double best = 1e300;  /* best of many short repeats: this VM's two vCPUs share a core's throughput */
    for (int rep = 0; rep < 50; rep++) {
        double t0 = now();
        for (long s = 0; s < steps; s++) step();
        double t = now() - t0;
        if (t < best) best = t;
    }
    double check = 0.0;
    for (int v = 0; v < NV; v++) SD_LANES check += OUT[v][l];
    printf("ns_per_draw_step %.4f\n", 1e9 * best / ((double)steps * SD_W));
    printf("ghz_estimate %.3f\n", ghz_estimate());
    printf("checksum %.6g\n", check);
    return 0;
}
