// SPDX-License-Identifier: GPL-2.0
/*
 * page_order: counts page allocations per order through a kprobe on
 * __set_page_owner (called for every successful buddy allocation when the
 * kernel boots with page_owner=on), with a per-order participation filter.
 *
 * /proc/page_order shows one row per configured order: order, participation
 * (percent of that order's allocations recorded), seen, recorded; then an
 * "other" row for orders beyond the table and the kprobe's nmissed count.
 * Writing "<order> <participation>" sets a participation at run time (and
 * shows that order's row), "reset" zeroes the counters (nmissed counts from
 * there too), "clear" also hides every row: one loaded module serves runs
 * that each want their own table. Bad writes return -EINVAL and change nothing.
 *
 * The handler runs in any context (hardirq and softirq included): it only
 * touches atomics, never sleeps, allocates, or unregisters its own kprobe.
 *
 * Consistency: each order has one counter, seen. What was recorded is
 * derived from it, per segment of constant participation: a segment starts
 * at seen = start with recorded = base, and the n-th event after start is
 * recorded when floor(n * p / 100) grows, so recorded = base + floor((seen -
 * start) * p / 100) exactly. A read therefore never catches seen and recorded
 * between two increments, and a reset (one store) cannot leave them apart.
 * The segment (start, base, p) changes only on writes to /proc/page_order,
 * under a seqlock that readers retry on; the handler never takes it.
 */
#include <linux/atomic.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/ptrace.h>
#include <linux/seqlock.h>
#include <linux/seq_file.h>
#include <linux/math64.h>
#include <linux/string.h>
#include <linux/uaccess.h>

/* Orders 0..18: 1 GiB gigantic hugetlb pages reach __set_page_owner with order 18. */
#define PO_ORDERS 19
#define PO_UNSET (-1)

static int orders[PO_ORDERS];
static int n_orders;
module_param_array(orders, int, &n_orders, 0444);
MODULE_PARM_DESC(orders, "orders to show (default 0-10)");

static int participation[PO_ORDERS];
static int n_participation;
module_param_array(participation, int, &n_participation, 0444);
MODULE_PARM_DESC(participation, "percent (0-100) of each listed order's allocations to record (default 100)");

static bool log_matches;
module_param(log_matches, bool, 0644);
MODULE_PARM_DESC(log_matches, "log recorded allocations, rate-limited (default off)");

static bool require_page_owner = true;
module_param(require_page_owner, bool, 0444);
MODULE_PARM_DESC(require_page_owner, "refuse to load when page_owner is not enabled (default on)");

/* Participation per order, PO_UNSET when the order has no row. */
static int part[PO_ORDERS];
static atomic64_t seen[PO_ORDERS];
/* The current segment of each order: seen at its start, recorded before it. */
static s64 seg_start[PO_ORDERS];
static s64 seg_base[PO_ORDERS];
static atomic64_t other_seen;
/* kp.nmissed at the last reset: the table shows the misses since. */
static unsigned long missed_base;
static DEFINE_SEQLOCK(segment_lock);

/* Recorded events among the first n of a segment at participation p. */
static s64 recorded_in_segment(s64 n, int p)
{
	return p > 0 ? div_s64(n * p, 100) : 0;
}

static int set_page_owner_pre(struct kprobe *kp, struct pt_regs *regs)
{
	/* __set_page_owner(struct page *, unsigned short order, gfp_t): order is a 16-bit argument */
	unsigned int order = regs_get_kernel_argument(regs, 1) & 0xffff;
	s64 n;
	int p;

	if (order >= PO_ORDERS) {
		atomic64_inc(&other_seen);
		return 0;
	}
	n = atomic64_inc_return(&seen[order]);
	if (!READ_ONCE(log_matches))
		return 0;
	/* only for the log line: a racy read of the segment is good enough here */
	p = READ_ONCE(part[order]);
	n -= READ_ONCE(seg_start[order]);
	if (p > 0 && recorded_in_segment(n, p) > recorded_in_segment(n - 1, p))
		pr_info_ratelimited("Order: %u, Participation: %d\n", order, p);
	return 0;
}

static struct kprobe kp = {
	.symbol_name = "__set_page_owner",
	.pre_handler = set_page_owner_pre,
};

struct order_row {
	int participation;
	s64 seen;
	s64 recorded;
};

/* One consistent (participation, seen, recorded) triple for an order. */
static struct order_row read_row(int o)
{
	struct order_row r;
	unsigned int seq;

	do {
		seq = read_seqbegin(&segment_lock);
		r.participation = READ_ONCE(part[o]);
		r.seen = atomic64_read(&seen[o]);
		r.recorded = seg_base[o] + recorded_in_segment(r.seen - seg_start[o], r.participation);
	} while (read_seqretry(&segment_lock, seq));
	return r;
}

static int page_order_show(struct seq_file *m, void *v)
{
	int o;

	seq_puts(m, "order participation seen recorded\n");
	for (o = 0; o < PO_ORDERS; o++) {
		struct order_row r = read_row(o);

		if (r.participation == PO_UNSET)
			continue;
		seq_printf(m, "%d %d %lld %lld\n", o, r.participation, r.seen, r.recorded);
	}
	seq_printf(m, "other - %lld 0\n", atomic64_read(&other_seen));
	seq_printf(m, "nmissed %lu\n", READ_ONCE(kp.nmissed) - READ_ONCE(missed_base));
	return 0;
}

static int page_order_open(struct inode *inode, struct file *file)
{
	return single_open(file, page_order_show, NULL);
}

/* Zero the counters; with hide, also take every order's row out of the table. */
static void reset_counters(bool hide)
{
	int o;

	write_seqlock(&segment_lock);
	for (o = 0; o < PO_ORDERS; o++) {
		atomic64_set(&seen[o], 0);
		seg_start[o] = 0;
		seg_base[o] = 0;
		if (hide)
			WRITE_ONCE(part[o], PO_UNSET);
	}
	atomic64_set(&other_seen, 0);
	WRITE_ONCE(missed_base, READ_ONCE(kp.nmissed));
	write_sequnlock(&segment_lock);
}

/* A new participation for an order: close its segment at the current count, open the next. */
static void set_participation(int o, int p)
{
	s64 now;

	write_seqlock(&segment_lock);
	now = atomic64_read(&seen[o]);
	seg_base[o] += recorded_in_segment(now - seg_start[o], part[o]);
	seg_start[o] = now;
	WRITE_ONCE(part[o], p);
	write_sequnlock(&segment_lock);
}

/* Exactly two decimal integers: "<order> <percent>". kstrtoint refuses overflow, where sscanf wraps. */
static int parse_order_write(char *text, int *order, int *p)
{
	char *first = strsep(&text, " \t");

	if (!text)
		return -EINVAL;
	text = skip_spaces(text);
	if (!*first || !*text || strpbrk(text, " \t\n"))
		return -EINVAL;
	if (kstrtoint(first, 10, order) || kstrtoint(text, 10, p))
		return -EINVAL;
	return 0;
}

static ssize_t page_order_write(struct file *file, const char __user *ubuf, size_t len, loff_t *off)
{
	char buf[32];
	char *text;
	int order, p;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	text = strim(buf);
	if (strcmp(text, "reset") == 0 || strcmp(text, "clear") == 0) {
		reset_counters(text[0] == 'c');
		return len;
	}
	if (parse_order_write(text, &order, &p))
		return -EINVAL;
	if (order < 0 || order >= PO_ORDERS || p < 0 || p > 100)
		return -EINVAL;
	set_participation(order, p);
	return len;
}

static const struct proc_ops page_order_ops = {
	.proc_open = page_order_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = page_order_write,
};

/*
 * page_owner_inited is not exported: find it through kallsyms_lookup_name,
 * whose address a kprobe reveals (it is not exported either since 5.7).
 * Registered disabled: the address is resolved without an int3 being
 * written into kallsyms_lookup_name and removed again (the lab writes kernel
 * text only once per guest, docs/reliability.md).
 */
static int page_owner_enabled(void)
{
	struct kprobe probe = { .symbol_name = "kallsyms_lookup_name", .flags = KPROBE_FLAG_DISABLED };
	unsigned long (*lookup)(const char *name);
	struct static_key_false *inited;

	if (register_kprobe(&probe) < 0)
		return -ENOENT;
	lookup = (unsigned long (*)(const char *))probe.addr;
	unregister_kprobe(&probe);
	inited = (struct static_key_false *)lookup("page_owner_inited");
	if (!inited)
		return -ENOENT;
	return static_key_enabled(&inited->key) ? 1 : 0;
}

static int validate_params(void)
{
	int i;

	if (n_participation && n_participation != n_orders) {
		pr_err("page_order: %d participation values for %d orders: give one per order\n",
		       n_participation, n_orders);
		return -EINVAL;
	}
	for (i = 0; i < PO_ORDERS; i++)
		part[i] = PO_UNSET;
	if (!n_orders) {
		for (i = 0; i <= 10; i++)
			part[i] = 100;
		return 0;
	}
	for (i = 0; i < n_orders; i++) {
		int p = n_participation ? participation[i] : 100;

		if (orders[i] < 0 || orders[i] >= PO_ORDERS || p < 0 || p > 100) {
			pr_err("page_order: orders[%d]=%d participation=%d: orders are 0-%d, participation 0-100\n",
			       i, orders[i], p, PO_ORDERS - 1);
			return -EINVAL;
		}
		part[orders[i]] = p;
	}
	return 0;
}

static int __init page_order_init(void)
{
	int ret = validate_params();

	if (ret)
		return ret;
	ret = page_owner_enabled();
	if (ret == 0 && require_page_owner) {
		pr_err("page_order: page_owner is not enabled (boot with page_owner=on): __set_page_owner would never be called\n");
		return -EINVAL;
	}
	if (ret < 0)
		pr_warn("page_order: cannot tell whether page_owner is enabled (page_owner_inited not found)\n");

	if (!proc_create("page_order", 0644, NULL, &page_order_ops)) {
		pr_err("page_order: cannot create /proc/page_order\n");
		return -ENOMEM;
	}
	ret = register_kprobe(&kp);
	if (ret < 0) {
		pr_err("page_order: cannot probe __set_page_owner (%d): kernel without CONFIG_PAGE_OWNER?\n", ret);
		remove_proc_entry("page_order", NULL);
		return ret;
	}
	pr_info("page_order: probing %pS\n", kp.addr);
	return 0;
}

static void __exit page_order_exit(void)
{
	unregister_kprobe(&kp);
	remove_proc_entry("page_order", NULL);
	pr_info("page_order: unloaded, nmissed %lu\n", kp.nmissed);
}

module_init(page_order_init);
module_exit(page_order_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("page-owner-lab");
MODULE_DESCRIPTION("Counts page allocations per order via a kprobe on __set_page_owner, with a per-order participation filter");
