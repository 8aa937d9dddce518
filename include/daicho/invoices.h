// InvoiceBook: the office's invoices to its customers ("billing management",
// 請求管理), kept in the replica's `invoices` collection and synced and
// merged like every other record.
//
// One record per invoice, id "YYYYMMDD-XXXXXX" (the issue day and 6 random
// Crockford base32 characters, so PCs creating invoices offline never pick
// the same id). The paid amount is a counter: two PCs recording payments at
// the same time both count. Whether an invoice is paid, partly paid, unpaid
// or overdue is derived when it is read, never stored, so concurrent
// payments cannot leave a wrong stored state. The customer's record
// (`customers`) lists its invoices in the set field `invoices`, written in
// the same change that creates the invoice. The fields are described in
// docs/formats.md ("The invoices collection").
//
// Billing management is a paid option: every write (Create, RecordPayment,
// Cancel) first passes the billing gate (CheckBillingWritable,
// daicho/entitlements.h) with the entitlements the relay last reported to
// this PC, and fails with its kPermissionDenied. Reading, listing and
// exporting always work.
//
// Amounts are whole yen. Dates are days in Japan, stored and returned as
// YYYY-MM-DD; the dates a caller passes may also be written as people do in
// Japan (2026/12/1, 2026年12月1日, 令和8年12月1日, full-width digits).
//
// Ownership and threading: borrows the Replica (it must outlive the book).
// Not thread-safe; use one book per thread (they may share the replica).
// Errors: kInvalidArgument (a malformed draft, date or amount),
// kNotFound (no such customer or invoice), kFailedPrecondition (paying a
// cancelled invoice, paying more than the balance), kPermissionDenied (the
// billing gate), kCorruption (a stored invoice missing its fields, a damaged
// entitlements report), and the replica's own codes.
#ifndef DAICHO_INVOICES_H_
#define DAICHO_INVOICES_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daicho/clock.h"
#include "daicho/replica.h"
#include "daicho/status.h"

namespace daicho {

inline constexpr std::string_view kInvoicesCollection = "invoices";
// The collection whose records invoices are for (InvoiceDraft::customer).
inline constexpr std::string_view kCustomersCollection = "customers";

// Limits of one invoice (kInvalidArgument beyond them).
inline constexpr size_t kMaxInvoiceItems = 99;
inline constexpr int64_t kMaxInvoiceQuantity = 1'000'000;
inline constexpr int64_t kMaxInvoiceUnitPriceYen = 1'000'000'000;

// One line of an invoice. Prices exclude consumption tax.
struct InvoiceItem {
  std::string description;     // one line of text, not empty
  int64_t quantity = 1;        // 1 .. kMaxInvoiceQuantity
  int64_t unit_price_yen = 0;  // 0 .. kMaxInvoiceUnitPriceYen
  // 10 (the standard rate) or 8 (the reduced rate).
  uint32_t tax_rate_percent = 10;
};

// The lines of one tax rate, as a qualified invoice (適格請求書) shows them.
struct TaxRateTotal {
  uint32_t rate_percent = 10;
  int64_t subtotal_yen = 0;  // the rate's items, tax excluded
  int64_t tax_yen = 0;
};

struct InvoiceTotals {
  std::vector<TaxRateTotal> by_rate;  // 10% first, then 8%; only rates used
  int64_t subtotal_yen = 0;
  int64_t tax_yen = 0;
  int64_t amount_yen = 0;  // subtotal + tax: what the customer owes
};

// The totals of `items`: per tax rate, the tax on the rate's subtotal over
// the whole invoice, rounded down once (the invoice system's rule: one
// rounding per rate and invoice, never per line). kInvalidArgument for an
// item outside the limits above or no items.
Result<InvoiceTotals> ComputeInvoiceTotals(std::span<const InvoiceItem> items);

struct InvoiceDraft {
  std::string customer;            // id of a record in `customers`
  std::vector<InvoiceItem> items;  // 1 .. kMaxInvoiceItems
  std::string issue_date;          // a day (see the top of this file); "" = today
  // A day not before the issue date; "" = the last day of the month after
  // the issue date (翌月末, the usual term).
  std::string due_date;
  std::string number;  // the office's own invoice number (optional, one line)
};

// Derived when read (see the top of this file).
enum class InvoiceState {
  kUnpaid,      // nothing paid, not yet due
  kPartlyPaid,  // something paid, not yet due
  kPaid,        // paid in full (or more)
  kOverdue,     // not paid in full and the due date has passed
  kCancelled,
};

// "unpaid", "partly_paid", "paid", "overdue", "cancelled".
std::string_view InvoiceStateName(InvoiceState state);

struct InvoicePayment {
  std::string date;  // YYYY-MM-DD
  int64_t amount_yen = 0;
  std::string note;
};

struct Invoice {
  std::string id;
  std::string customer;
  std::string customer_name;  // the customer's trade name when issued
  std::string number;
  std::string issue_date, due_date;
  std::vector<InvoiceItem> items;
  InvoiceTotals totals;                  // per rate from the items; amounts as stored
  int64_t paid_yen = 0;                  // every payment recorded on any PC
  std::vector<InvoicePayment> payments;  // by date
  InvoiceState state = InvoiceState::kUnpaid;

  int64_t balance_yen() const { return totals.amount_yen - paid_yen; }
};

struct InvoiceFilter {
  bool unpaid_only = false;  // only invoices not paid in full and not cancelled
  std::string customer;      // only this customer's; "" = every customer
};

struct InvoiceBookOptions {
  // Today's date (issue dates, overdue) and the billing gate's "now";
  // nullptr: the system clock.
  std::shared_ptr<Clock> clock;
};

class InvoiceBook {
 public:
  explicit InvoiceBook(Replica& replica, InvoiceBookOptions options = {});

  // Issues an invoice and links it from its customer, in one change.
  // Returns its id.
  Result<std::string> Create(const InvoiceDraft& draft);
  // Adds `amount_yen` (1 .. the balance) paid on `date` (a day, "" =
  // today) to the invoice, with an optional one-line note.
  Status RecordPayment(std::string_view id, int64_t amount_yen, std::string_view date = "", std::string_view note = "");
  // Marks the invoice cancelled (it stays readable; its payments stay).
  Status Cancel(std::string_view id);

  Result<Invoice> Get(std::string_view id) const;
  // Matching invoices by id (issue day first).
  Result<std::vector<Invoice>> List(const InvoiceFilter& filter = {}) const;

  // The billing gate with this PC's saved entitlements: ok when a write
  // would be allowed now, else its kPermissionDenied.
  Status CheckWritable() const;

 private:
  Replica& replica_;
  std::shared_ptr<Clock> clock_;
};

}  // namespace daicho

#endif  // DAICHO_INVOICES_H_
