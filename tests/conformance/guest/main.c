/*
 * LPA2 Explorer conformance guest: executes a batch of AT scenarios.
 *
 * The batch blob (format described in ../qemu_runner.py) is loaded by QEMU's
 * generic loader at BLOB_ADDR.  For each scenario the guest writes the
 * descriptors, programs the translation registers of the Non-secure EL1&0
 * and EL2 regimes, invalidates TLBs, executes the AT instruction, reads
 * PAR_EL1, writes a 32-byte result record to the host through semihosting
 * and zeroes the descriptors again.  Any exception restarts C through
 * guest_resume(), which records it for the current scenario and continues.
 *
 * A batch whose header flags have BLOB_KEEP set keeps every descriptor in
 * memory and, once its results are out, waits (instead of exiting) so that
 * the host can dump guest memory (QMP dump-guest-memory) and then quit.
 */
#include <stdint.h>

typedef uint64_t u64;

#define BLOB_ADDR        0x41000000UL
#define BLOB_MAGIC       0x424f4c4232415031UL /* "1PA2BLOB" read as LE u64 */
#define RES_MAGIC        0x5345523241504c31UL /* "1LPA2RES" */
#define DONE_MAGIC       0x454e4f4432415031UL /* "1PA2DONE" */
#define BLOB_VERSION     1
#define BLOB_KEEP        1UL  /* header word 3: keep tables, wait for a dump */
#define NREGS            16
#define SCEN_HDR_WORDS   (4 + NREGS)

#define SYS_OPEN   0x01
#define SYS_CLOSE  0x02
#define SYS_WRITE  0x05
#define SYS_EXIT   0x18
#define ADP_Stopped_ApplicationExit 0x20026UL

#define ST_OK        0UL
#define ST_EXC       1UL
#define ST_BADOP     2UL

extern u64 semihost_call(u64 op, volatile void *arg);

struct exc_rec { u64 vec, esr, far, elr, count; };
volatile struct exc_rec g_exc;

static volatile u64 *g_scen;    /* current scenario */
static volatile u64 g_idx;      /* its index */
static volatile u64 g_n;        /* number of scenarios */
static volatile u64 g_keep;     /* BLOB_KEEP: descriptors stay, wait at the end */
static volatile u64 g_phase;    /* 0 idle, 1 setup, 2 AT, 3 cleanup */
static volatile u64 g_fd;
static volatile u64 g_args[4];
static volatile u64 g_rec[8];

static const char results_name[] = "lpa2_results.bin";

#define MSR(reg, v) __asm__ volatile("msr " #reg ", %0" :: "r"((u64)(v)) : "memory")
#define MRS(reg) ({ u64 _v; __asm__ volatile("mrs %0, " #reg : "=r"(_v) :: "memory"); _v; })

static void sh_exit(u64 code)
{
    g_args[0] = ADP_Stopped_ApplicationExit;
    g_args[1] = code;
    semihost_call(SYS_EXIT, g_args);
    for (;;)
        ;
}

static void sh_write(volatile void *buf, u64 len)
{
    g_args[0] = g_fd;
    g_args[1] = (u64)buf;
    g_args[2] = len;
    if (semihost_call(SYS_WRITE, g_args) != 0)
        sh_exit(3);
}

static void emit4(u64 a, u64 b, u64 c, u64 d)
{
    g_rec[0] = a; g_rec[1] = b; g_rec[2] = c; g_rec[3] = d;
    sh_write(g_rec, 32);
}

static u64 scen_words(volatile u64 *s)
{
    return SCEN_HDR_WORDS + 2 * s[2];
}

static void tlb_flush(void)
{
    __asm__ volatile(
        "dsb sy\n"
        "tlbi alle3\n"
        "tlbi alle2\n"
        "tlbi alle1\n"
        "tlbi vmalls12e1\n"
        "dsb sy\n"
        "isb\n" ::: "memory");
}

static void program_regs(volatile u64 *r)
{
    /* At EL3 there is no E2H register redirection, so the order of these
     * writes does not change their meaning; HCR_EL2 goes first so that
     * every later write sees the final E2H/TGE. */
    MSR(hcr_el2, r[12]);
    __asm__ volatile("isb" ::: "memory");
    MSR(tcr_el1, r[0]);
    MSR(ttbr0_el1, r[1]);
    MSR(ttbr1_el1, r[2]);
    MSR(mair_el1, r[3]);
    MSR(sctlr_el1, r[4]);
    MSR(tcr_el2, r[5]);
    MSR(ttbr0_el2, r[6]);
    MSR(ttbr1_el2, r[7]);
    MSR(mair_el2, r[8]);
    MSR(sctlr_el2, r[9]);
    MSR(vtcr_el2, r[10]);
    MSR(vttbr_el2, r[11]);
    __asm__ volatile("isb" ::: "memory");
}

static int do_at(u64 op, u64 va, u64 *par)
{
    switch (op) {
    case 0: __asm__ volatile("at s1e1r, %0" :: "r"(va) : "memory"); break;
    case 1: __asm__ volatile("at s1e1w, %0" :: "r"(va) : "memory"); break;
    case 2: __asm__ volatile("at s1e0r, %0" :: "r"(va) : "memory"); break;
    case 3: __asm__ volatile("at s1e0w, %0" :: "r"(va) : "memory"); break;
    case 4: __asm__ volatile("at s1e2r, %0" :: "r"(va) : "memory"); break;
    case 5: __asm__ volatile("at s1e2w, %0" :: "r"(va) : "memory"); break;
    case 6: __asm__ volatile("at s12e1r, %0" :: "r"(va) : "memory"); break;
    case 7: __asm__ volatile("at s12e1w, %0" :: "r"(va) : "memory"); break;
    case 8: __asm__ volatile("at s12e0r, %0" :: "r"(va) : "memory"); break;
    case 9: __asm__ volatile("at s12e0w, %0" :: "r"(va) : "memory"); break;
    default: return -1;
    }
    __asm__ volatile("isb" ::: "memory");
    *par = MRS(par_el1);
    return 0;
}

static void write_mem(volatile u64 *s, int zero)
{
    u64 n = s[2];
    volatile u64 *m = s + SCEN_HDR_WORDS;
    for (u64 i = 0; i < n; i++) {
        volatile u64 *addr = (volatile u64 *)m[2 * i];
        *addr = zero ? 0 : m[2 * i + 1];
    }
    __asm__ volatile("dsb sy" ::: "memory");
}

static void finish(void)
{
    emit4(DONE_MAGIC, g_n, g_exc.count, 0);
    g_args[0] = g_fd;
    semihost_call(SYS_CLOSE, g_args);
    if (g_keep)
        for (;;)  /* the host dumps memory, then quits QEMU */
            __asm__ volatile("wfi" ::: "memory");
    sh_exit(0);
}

static void cleanup_and_advance(void)
{
    volatile u64 *s = g_scen;
    g_phase = 3;
    if (!g_keep)
        write_mem(s, 1);
    g_phase = 0;
    g_scen = s + scen_words(s);
    g_idx = g_idx + 1;
}

static void run_loop(void)
{
    while (g_idx < g_n) {
        volatile u64 *s = g_scen;
        u64 par = 0;
        g_phase = 1;
        write_mem(s, 0);
        program_regs(s + 4);
        tlb_flush();
        g_phase = 2;
        if (do_at(s[0], s[1], &par) == 0)
            emit4(ST_OK, par, 0, 0);
        else
            emit4(ST_BADOP, 0, 0, 0);
        cleanup_and_advance();
    }
    finish();
}

/* Entered on a fresh stack after any exception. */
void guest_resume(void)
{
    u64 phase = g_phase;
    if (g_fd == 0 || g_exc.count > 1000000 || phase == 0)
        sh_exit(2);
    if (phase == 3) {
        /* Zeroing the descriptors faulted: the result is already out. */
        volatile u64 *s = g_scen;
        g_phase = 0;
        g_scen = s + scen_words(s);
        g_idx = g_idx + 1;
    } else {
        emit4(ST_EXC | (phase << 8) | (g_exc.vec << 16), g_exc.elr, g_exc.esr,
              g_exc.far);
        cleanup_and_advance();
    }
    run_loop();
}

void guest_main(void)
{
    volatile u64 *blob = (volatile u64 *)BLOB_ADDR;
    u64 scr;

    g_args[0] = (u64)results_name;
    g_args[1] = 5; /* "wb" */
    g_args[2] = sizeof(results_name) - 1;
    g_fd = semihost_call(SYS_OPEN, g_args);
    if ((int64_t)g_fd == -1)
        sh_exit(4);

    /* Non-secure lower ELs, EL2 enabled (HCE), AArch64 below EL3, SMC on. */
    scr = (1UL << 0) | (3UL << 4) | (1UL << 8) | (1UL << 10);
    MSR(scr_el3, scr);
    __asm__ volatile("isb" ::: "memory");

    emit4(RES_MAGIC, MRS(id_aa64mmfr0_el1), MRS(id_aa64mmfr1_el1),
          MRS(s3_0_c0_c7_2) /* ID_AA64MMFR2_EL1 */);
    emit4(MRS(id_aa64pfr0_el1), MRS(midr_el1), MRS(currentel), blob[2]);

    if (blob[0] != BLOB_MAGIC || blob[1] != BLOB_VERSION)
        sh_exit(5);
    g_n = blob[2];
    g_keep = blob[3] & BLOB_KEEP;
    g_scen = blob + 4;
    g_idx = 0;
    g_phase = 0;
    run_loop();
}
