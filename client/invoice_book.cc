#include "daicho/invoices.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>

#include "client/entitlements_cache.h"
#include "crypto/secret_token.h"
#include "daicho/entitlements.h"
#include "text/date_text.h"

namespace daicho {
namespace {

// Field names of an invoice record (docs/formats.md, "The invoices collection").
constexpr std::string_view kCustomer = "customer";
constexpr std::string_view kCustomerName = "customer_name";
constexpr std::string_view kNumber = "number";
constexpr std::string_view kIssueDate = "issue_date";
constexpr std::string_view kDueDate = "due_date";
constexpr std::string_view kItemCount = "item_count";
constexpr std::string_view kSubtotal = "subtotal_yen";
constexpr std::string_view kTax = "tax_yen";
constexpr std::string_view kAmount = "amount_yen";
constexpr std::string_view kPaid = "paid_yen";      // a counter
constexpr std::string_view kPayments = "payments";  // a set
constexpr std::string_view kStatus = "status";      // lifecycle only
constexpr std::string_view kIssued = "issued";
constexpr std::string_view kCancelled = "cancelled";
// The customer record's set of its invoice ids.
constexpr std::string_view kCustomerInvoices = "invoices";
// Where a customer's name is found, in this order.
constexpr std::string_view kCustomerNameFields[] = {"trade_name", "name"};

using Date = std::chrono::year_month_day;

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr size_t kRandomChars = 6;

// "item.01.description": two digits keep a record's fields in item order.
std::string ItemField(size_t index, std::string_view part) {
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "item.%02zu.", index + 1);
  return prefix + std::string(part);
}

// 6 uniform Crockford base32 characters (a random byte's low 5 bits).
std::string RandomSuffix() {
  const std::string bytes = crypto::RandomToken(kRandomChars);
  std::string out;
  for (unsigned char b : bytes) out.push_back(kCrockford[b & 31u]);
  return out;
}

bool IsOneLine(std::string_view text) {
  return IsValidUtf8(text) && text.find_first_of("\r\n") == std::string_view::npos;
}

std::string InvoiceName(std::string_view id) { return "invoice " + std::string(id); }

Status CheckItem(const InvoiceItem& item, size_t index) {
  const std::string where = "item " + std::to_string(index + 1) + ": ";
  if (item.description.empty() || !IsOneLine(item.description)) {
    return InvalidArgument(where + "the description must be one line of text");
  }
  if (item.quantity < 1 || item.quantity > kMaxInvoiceQuantity) {
    return InvalidArgument(where + "the quantity must be 1 to " + std::to_string(kMaxInvoiceQuantity));
  }
  if (item.unit_price_yen < 0 || item.unit_price_yen > kMaxInvoiceUnitPriceYen) {
    return InvalidArgument(where + "the unit price must be 0 to " + std::to_string(kMaxInvoiceUnitPriceYen) + " yen");
  }
  if (item.tax_rate_percent != 10 && item.tax_rate_percent != 8) {
    return InvalidArgument(where + "the tax rate must be 10 or 8 (%)");
  }
  return Status::Ok();
}

Result<Date> RequireDate(std::string_view text, std::string_view what) {
  std::optional<Date> date = text::ParseDate(text);
  if (!date) {
    return InvalidArgument(std::string(what) + " must be a day such as 2026-12-01, 2026/12/1 or 令和8年12月1日, not '" +
                           std::string(text) + "'");
  }
  return *date;
}

// The usual payment term: the last day of the month after `issue`.
Date EndOfNextMonth(Date issue) {
  const std::chrono::year_month next = std::chrono::year_month(issue.year(), issue.month()) + std::chrono::months(1);
  return Date(std::chrono::year_month_day_last(next.year(), std::chrono::month_day_last(next.month())));
}

// Register accessors over a stored record; a field of the wrong type is
// reported as missing.
const FieldView* RegisterField(const Record& record, std::string_view name) {
  const FieldView* field = record.Find(name);
  return field != nullptr && field->kind == FieldKind::kRegister ? field : nullptr;
}

std::string TextOr(const Record& record, std::string_view name, std::string fallback = "") {
  const FieldView* field = RegisterField(record, name);
  return field != nullptr && field->value.is_string() ? field->value.as_string() : fallback;
}

Status Damaged(const Record& record, std::string_view field) {
  return Corruption(InvoiceName(record.id) + " is not a valid invoice: field '" + std::string(field) +
                    "' is missing or of the wrong type");
}

Result<std::string> RequiredText(const Record& record, std::string_view name) {
  const FieldView* field = RegisterField(record, name);
  if (field == nullptr || !field->value.is_string()) return Damaged(record, name);
  return field->value.as_string();
}

Result<int64_t> RequiredInt(const Record& record, std::string_view name) {
  const FieldView* field = RegisterField(record, name);
  if (field == nullptr || field->value.type() != Value::Type::kInt) return Damaged(record, name);
  return field->value.as_int();
}

// A payment history element: "<date> <amount> <random> <note>". The random
// part keeps two equal payments on one day two elements of the set.
std::string PaymentElement(const std::string& date, int64_t amount_yen, std::string_view note) {
  std::string element = date + " " + std::to_string(amount_yen) + " " + RandomSuffix();
  if (!note.empty()) element += " " + std::string(note);
  return element;
}

std::optional<InvoicePayment> ParsePaymentElement(const std::string& element) {
  const size_t first = element.find(' ');
  const size_t second = first == std::string::npos ? first : element.find(' ', first + 1);
  if (second == std::string::npos) return std::nullopt;
  const size_t third = element.find(' ', second + 1);
  InvoicePayment payment;
  payment.date = element.substr(0, first);
  const std::string amount = element.substr(first + 1, second - first - 1);
  if (amount.empty() || amount.find_first_not_of("0123456789") != std::string::npos || amount.size() > 15) {
    return std::nullopt;
  }
  std::from_chars(amount.data(), amount.data() + amount.size(), payment.amount_yen);
  if (third != std::string::npos) payment.note = element.substr(third + 1);
  return payment;
}

Result<Invoice> ReadInvoice(const Record& record, Date today) {
  Invoice invoice;
  invoice.id = record.id;
  DAICHO_ASSIGN_OR_RETURN(invoice.customer, RequiredText(record, kCustomer));
  DAICHO_ASSIGN_OR_RETURN(invoice.issue_date, RequiredText(record, kIssueDate));
  DAICHO_ASSIGN_OR_RETURN(invoice.due_date, RequiredText(record, kDueDate));
  invoice.customer_name = TextOr(record, kCustomerName);
  invoice.number = TextOr(record, kNumber);
  DAICHO_ASSIGN_OR_RETURN(const int64_t count, RequiredInt(record, kItemCount));
  if (count < 1 || count > static_cast<int64_t>(kMaxInvoiceItems)) return Damaged(record, kItemCount);
  for (size_t i = 0; i < static_cast<size_t>(count); ++i) {
    InvoiceItem item;
    DAICHO_ASSIGN_OR_RETURN(item.description, RequiredText(record, ItemField(i, "description")));
    DAICHO_ASSIGN_OR_RETURN(item.quantity, RequiredInt(record, ItemField(i, "quantity")));
    DAICHO_ASSIGN_OR_RETURN(item.unit_price_yen, RequiredInt(record, ItemField(i, "unit_price_yen")));
    DAICHO_ASSIGN_OR_RETURN(const int64_t rate, RequiredInt(record, ItemField(i, "tax_rate")));
    item.tax_rate_percent = static_cast<uint32_t>(std::clamp<int64_t>(rate, 0, 100));
    invoice.items.push_back(std::move(item));
  }
  Result<InvoiceTotals> totals = ComputeInvoiceTotals(invoice.items);
  if (!totals.ok()) return Corruption(InvoiceName(record.id) + " is not a valid invoice: " + totals.status().message());
  invoice.totals = *std::move(totals);
  // The stored amounts are what was billed; the per-rate lines come from the items.
  DAICHO_ASSIGN_OR_RETURN(invoice.totals.subtotal_yen, RequiredInt(record, kSubtotal));
  DAICHO_ASSIGN_OR_RETURN(invoice.totals.tax_yen, RequiredInt(record, kTax));
  DAICHO_ASSIGN_OR_RETURN(invoice.totals.amount_yen, RequiredInt(record, kAmount));
  if (const FieldView* paid = record.Find(kPaid);
      paid != nullptr && paid->kind == FieldKind::kCounter && paid->value.type() == Value::Type::kInt) {
    invoice.paid_yen = paid->value.as_int();
  }
  if (const FieldView* payments = record.Find(kPayments); payments != nullptr && payments->kind == FieldKind::kSet) {
    for (const std::string& element : payments->elements) {
      if (std::optional<InvoicePayment> payment = ParsePaymentElement(element)) {
        invoice.payments.push_back(std::move(*payment));
      }
    }
  }
  const std::optional<Date> due = text::ParseDate(invoice.due_date);
  if (!due) return Damaged(record, kDueDate);
  if (TextOr(record, kStatus) == kCancelled) {
    invoice.state = InvoiceState::kCancelled;
  } else if (invoice.paid_yen >= invoice.totals.amount_yen) {
    invoice.state = InvoiceState::kPaid;
  } else if (*due < today) {
    invoice.state = InvoiceState::kOverdue;
  } else {
    invoice.state = invoice.paid_yen > 0 ? InvoiceState::kPartlyPaid : InvoiceState::kUnpaid;
  }
  return invoice;
}

}  // namespace

Result<InvoiceTotals> ComputeInvoiceTotals(std::span<const InvoiceItem> items) {
  if (items.empty()) return InvalidArgument("an invoice needs at least one item");
  if (items.size() > kMaxInvoiceItems) {
    return InvalidArgument("an invoice holds at most " + std::to_string(kMaxInvoiceItems) + " items");
  }
  for (size_t i = 0; i < items.size(); ++i) DAICHO_RETURN_IF_ERROR(CheckItem(items[i], i));
  InvoiceTotals totals;
  for (uint32_t rate : {10u, 8u}) {
    TaxRateTotal line{rate, 0, 0};
    bool used = false;
    for (const InvoiceItem& item : items) {
      if (item.tax_rate_percent != rate) continue;
      used = true;
      // At most 99 * 10^6 * 10^9 < 2^63: no overflow.
      line.subtotal_yen += item.quantity * item.unit_price_yen;
    }
    if (!used) continue;
    // Japan's invoice system (適格請求書): consumption tax is computed once
    // per tax rate over the whole invoice and the fraction of a yen is
    // rounded down; never per line.
    line.tax_yen = line.subtotal_yen * rate / 100;
    totals.subtotal_yen += line.subtotal_yen;
    totals.tax_yen += line.tax_yen;
    totals.by_rate.push_back(line);
  }
  totals.amount_yen = totals.subtotal_yen + totals.tax_yen;
  return totals;
}

std::string_view InvoiceStateName(InvoiceState state) {
  switch (state) {
    case InvoiceState::kUnpaid:
      return "unpaid";
    case InvoiceState::kPartlyPaid:
      return "partly_paid";
    case InvoiceState::kPaid:
      return "paid";
    case InvoiceState::kOverdue:
      return "overdue";
    case InvoiceState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

InvoiceBook::InvoiceBook(Replica& replica, InvoiceBookOptions options)
    : replica_(replica), clock_(options.clock ? std::move(options.clock) : SystemClock()) {}

namespace {

std::chrono::system_clock::time_point Now(const Clock& clock) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(clock.NowMillis()));
}

}  // namespace

Status InvoiceBook::CheckWritable() const {
  DAICHO_ASSIGN_OR_RETURN(const Entitlements entitlements, client::LoadEntitlements(replica_));
  return CheckBillingWritable(entitlements, Now(*clock_));
}

Result<std::string> InvoiceBook::Create(const InvoiceDraft& draft) {
  DAICHO_RETURN_IF_ERROR(CheckWritable());
  DAICHO_ASSIGN_OR_RETURN(const InvoiceTotals totals, ComputeInvoiceTotals(draft.items));
  if (!IsOneLine(draft.number)) return InvalidArgument("the invoice number must be one line of text");
  Date issue = text::JapanDay(Now(*clock_));
  if (!draft.issue_date.empty()) {
    DAICHO_ASSIGN_OR_RETURN(issue, RequireDate(draft.issue_date, "the issue date"));
  }
  Date due = EndOfNextMonth(issue);
  if (!draft.due_date.empty()) {
    DAICHO_ASSIGN_OR_RETURN(due, RequireDate(draft.due_date, "the due date"));
  }
  if (due < issue) return InvalidArgument("the due date is before the issue date");

  Result<Record> customer = replica_.Get(kCustomersCollection, draft.customer);
  if (customer.status().code() == Code::kNotFound || (customer.ok() && customer->deleted)) {
    return NotFound("no customer '" + draft.customer + "' in " + std::string(kCustomersCollection));
  }
  if (!customer.ok()) return customer.status();
  std::string customer_name;
  for (std::string_view field : kCustomerNameFields) {
    customer_name = TextOr(*customer, field);
    if (!customer_name.empty()) break;
  }

  // 30 random bits per day: a collision with an invoice held here is
  // checked; one with an invoice made offline elsewhere is left to chance
  // (1 in 10^9 per pair of invoices issued on the same day).
  std::string day = text::FormatIsoDate(issue);
  day.erase(std::remove(day.begin(), day.end(), '-'), day.end());
  std::string id;
  for (int attempt = 0; id.empty(); ++attempt) {
    std::string candidate = day + "-" + RandomSuffix();
    Result<Record> existing = replica_.Get(kInvoicesCollection, candidate);
    if (existing.status().code() == Code::kNotFound) {
      id = std::move(candidate);
    } else if (!existing.ok()) {
      return existing.status();
    } else if (attempt == 10) {
      return Internal("no free invoice id after 10 random tries");
    }
  }

  WriteTransaction txn = replica_.BeginWrite();
  const std::string_view c = kInvoicesCollection;
  DAICHO_RETURN_IF_ERROR(txn.Set(c, id, kCustomer, Value(draft.customer)));
  DAICHO_RETURN_IF_ERROR(txn.Set(c, id, kCustomerName, Value(customer_name)));
  if (!draft.number.empty()) DAICHO_RETURN_IF_ERROR(txn.Set(c, id, kNumber, Value(draft.number)));
  DAICHO_RETURN_IF_ERROR(txn.Set(c, id, kIssueDate, Value(text::FormatIsoDate(issue))));
  DAICHO_RETURN_IF_ERROR(txn.Set(c, id, kDueDate, Value(text::FormatIsoDate(due))));
  DAICHO_RETURN_IF_ERROR(txn.Set(c, id, kItemCount, Value(static_cast<int64_t>(draft.items.size()))));
  for (size_t i = 0; i < draft.items.size(); ++i) {
    const InvoiceItem& item = draft.items[i];
    DAICHO_RETURN_IF_ERROR(txn.Set(c, id, ItemField(i, "description"), Value(item.description)));
    DAICHO_RETURN_IF_ERROR(txn.Set(c, id, ItemField(i, "quantity"), Value(item.quantity)));
    DAICHO_RETURN_IF_ERROR(txn.Set(c, id, ItemField(i, "unit_price_yen"), Value(item.unit_price_yen)));
    DAICHO_RETURN_IF_ERROR(
        txn.Set(c, id, ItemField(i, "tax_rate"), Value(static_cast<int64_t>(item.tax_rate_percent))));
  }
  DAICHO_RETURN_IF_ERROR(txn.Set(c, id, kSubtotal, Value(totals.subtotal_yen)));
  DAICHO_RETURN_IF_ERROR(txn.Set(c, id, kTax, Value(totals.tax_yen)));
  DAICHO_RETURN_IF_ERROR(txn.Set(c, id, kAmount, Value(totals.amount_yen)));
  DAICHO_RETURN_IF_ERROR(txn.Set(c, id, kStatus, Value(kIssued)));
  // The link in the same change: no PC ever sees the invoice without it.
  DAICHO_RETURN_IF_ERROR(txn.SetAdd(kCustomersCollection, draft.customer, kCustomerInvoices, id));
  DAICHO_RETURN_IF_ERROR(txn.Commit().status());
  return id;
}

Status InvoiceBook::RecordPayment(std::string_view id, int64_t amount_yen, std::string_view date,
                                  std::string_view note) {
  DAICHO_RETURN_IF_ERROR(CheckWritable());
  if (amount_yen < 1) return InvalidArgument("a payment must be at least 1 yen");
  if (!IsOneLine(note)) return InvalidArgument("the payment note must be one line of text");
  Date day = text::JapanDay(Now(*clock_));
  if (!date.empty()) {
    DAICHO_ASSIGN_OR_RETURN(day, RequireDate(date, "the payment date"));
  }
  DAICHO_ASSIGN_OR_RETURN(const Invoice invoice, Get(id));
  if (invoice.state == InvoiceState::kCancelled) {
    return FailedPrecondition(InvoiceName(id) + " is cancelled: no payment can be recorded");
  }
  if (amount_yen > invoice.balance_yen()) {
    return FailedPrecondition(InvoiceName(id) + ": " + std::to_string(amount_yen) +
                              " yen is more than the balance of " +
                              std::to_string(std::max<int64_t>(invoice.balance_yen(), 0)) + " yen");
  }
  WriteTransaction txn = replica_.BeginWrite();
  // A counter: a payment recorded at the same time on another PC adds to
  // this one instead of overwriting it.
  DAICHO_RETURN_IF_ERROR(txn.Add(kInvoicesCollection, id, kPaid, amount_yen));
  DAICHO_RETURN_IF_ERROR(
      txn.SetAdd(kInvoicesCollection, id, kPayments, PaymentElement(text::FormatIsoDate(day), amount_yen, note)));
  return txn.Commit().status();
}

Status InvoiceBook::Cancel(std::string_view id) {
  DAICHO_RETURN_IF_ERROR(CheckWritable());
  DAICHO_RETURN_IF_ERROR(Get(id).status());
  WriteTransaction txn = replica_.BeginWrite();
  DAICHO_RETURN_IF_ERROR(txn.Set(kInvoicesCollection, id, kStatus, Value(kCancelled)));
  return txn.Commit().status();
}

Result<Invoice> InvoiceBook::Get(std::string_view id) const {
  Result<Record> record = replica_.Get(kInvoicesCollection, id);
  if (record.status().code() == Code::kNotFound || (record.ok() && record->deleted)) {
    return NotFound("no " + InvoiceName(id));
  }
  if (!record.ok()) return record.status();
  return ReadInvoice(*record, text::JapanDay(Now(*clock_)));
}

Result<std::vector<Invoice>> InvoiceBook::List(const InvoiceFilter& filter) const {
  const Date today = text::JapanDay(Now(*clock_));
  std::vector<Invoice> invoices;
  ListOptions options;
  options.limit = 500;
  while (true) {
    DAICHO_ASSIGN_OR_RETURN(Page page, replica_.List(kInvoicesCollection, options));
    for (const Record& record : page.records) {
      DAICHO_ASSIGN_OR_RETURN(Invoice invoice, ReadInvoice(record, today));
      if (!filter.customer.empty() && invoice.customer != filter.customer) continue;
      if (filter.unpaid_only && (invoice.state == InvoiceState::kPaid || invoice.state == InvoiceState::kCancelled)) {
        continue;
      }
      invoices.push_back(std::move(invoice));
    }
    if (page.next_start_after.empty() || page.records.empty()) break;
    options.start_after = std::move(page.next_start_after);
  }
  return invoices;
}

}  // namespace daicho
