// `daicho invoice ...`: billing management over InvoiceBook
// (daicho/invoices.h), and the billing gate for the generic writes.
#include <fstream>
#include <string>
#include <vector>

#include "apps/daicho/commands.h"
#include "apps/daicho/invoice_args.h"
#include "apps/daicho/json_output.h"
#include "apps/daicho/text_output.h"
#include "daicho/invoices.h"
#include "text/csv.h"
#include "text/number_text.h"

namespace daicho::cli {
namespace {

std::string Yen(int64_t yen) { return text::GroupThousands(yen) + " yen"; }

// "partly paid" for a person; --json and the CSV keep InvoiceStateName.
std::string StateText(InvoiceState state) {
  std::string text(InvoiceStateName(state));
  for (char& c : text) {
    if (c == '_') c = ' ';
  }
  return text;
}

Json InvoiceToJson(const Invoice& invoice) {
  Json items = Json::array();
  for (const InvoiceItem& item : invoice.items) {
    items.push_back(Json{{"description", item.description},
                         {"quantity", item.quantity},
                         {"unit_price_yen", item.unit_price_yen},
                         {"tax_rate", item.tax_rate_percent},
                         {"amount_yen", item.quantity * item.unit_price_yen}});
  }
  Json by_rate = Json::array();
  for (const TaxRateTotal& rate : invoice.totals.by_rate) {
    by_rate.push_back(
        Json{{"tax_rate", rate.rate_percent}, {"subtotal_yen", rate.subtotal_yen}, {"tax_yen", rate.tax_yen}});
  }
  Json payments = Json::array();
  for (const InvoicePayment& payment : invoice.payments) {
    payments.push_back(Json{{"date", payment.date}, {"amount_yen", payment.amount_yen}, {"note", payment.note}});
  }
  return Json{{"id", invoice.id},
              {"number", invoice.number},
              {"customer", invoice.customer},
              {"customer_name", invoice.customer_name},
              {"issue_date", invoice.issue_date},
              {"due_date", invoice.due_date},
              {"state", InvoiceStateName(invoice.state)},
              {"items", std::move(items)},
              {"tax_by_rate", std::move(by_rate)},
              {"subtotal_yen", invoice.totals.subtotal_yen},
              {"tax_yen", invoice.totals.tax_yen},
              {"amount_yen", invoice.totals.amount_yen},
              {"paid_yen", invoice.paid_yen},
              {"balance_yen", invoice.balance_yen()},
              {"payments", std::move(payments)}};
}

void WriteInvoiceText(std::ostream& out, const Invoice& invoice) {
  out << "invoice " << invoice.id;
  if (!invoice.number.empty()) out << " (number " << invoice.number << ")";
  out << "\ncustomer: " << invoice.customer;
  if (!invoice.customer_name.empty()) out << ' ' << invoice.customer_name;
  out << "\nissued:   " << invoice.issue_date << "\ndue:      " << invoice.due_date
      << "\nstate:    " << StateText(invoice.state) << "\nitems:\n";
  for (const InvoiceItem& item : invoice.items) {
    out << "  " << item.description << "  " << text::GroupThousands(item.quantity) << " x " << Yen(item.unit_price_yen)
        << " = " << Yen(item.quantity * item.unit_price_yen) << " (tax " << item.tax_rate_percent << "%)\n";
  }
  for (const TaxRateTotal& rate : invoice.totals.by_rate) {
    out << "tax " << rate.rate_percent << "%:  " << Yen(rate.tax_yen) << " on " << Yen(rate.subtotal_yen) << '\n';
  }
  out << "total:    " << Yen(invoice.totals.amount_yen) << " (tax included)\npaid:     " << Yen(invoice.paid_yen)
      << "\nbalance:  " << Yen(invoice.balance_yen()) << '\n';
  if (!invoice.payments.empty()) out << "payments:\n";
  for (const InvoicePayment& payment : invoice.payments) {
    out << "  " << payment.date << ' ' << Yen(payment.amount_yen);
    if (!payment.note.empty()) out << ' ' << payment.note;
    out << '\n';
  }
}

// The columns of `invoice export`: integers without separators and dates
// YYYY-MM-DD, so that Excel reads numbers and dates.
const std::vector<std::string> kExportHeader = {"id",         "number",   "customer",     "customer_name",
                                                "issue_date", "due_date", "subtotal_yen", "tax_yen",
                                                "amount_yen", "paid_yen", "balance_yen",  "state"};

std::vector<std::string> ExportRow(const Invoice& i) {
  return {i.id,
          i.number,
          i.customer,
          i.customer_name,
          i.issue_date,
          i.due_date,
          std::to_string(i.totals.subtotal_yen),
          std::to_string(i.totals.tax_yen),
          std::to_string(i.totals.amount_yen),
          std::to_string(i.paid_yen),
          std::to_string(i.balance_yen()),
          std::string(InvoiceStateName(i.state))};
}

}  // namespace

Status CheckCollectionWritable(Replica& replica, const std::string& collection) {
  if (collection != kInvoicesCollection) return Status::Ok();
  return InvoiceBook(replica).CheckWritable();
}

Outcome InvoiceCreateCommand(const std::string& db, const InvoiceCreateArgs& args, std::ostream& out) {
  if (args.items.empty()) return Outcome::Usage("invoice create needs at least one --item DESCRIPTION:QUANTITY:PRICE");
  if (args.tax_rate != 10 && args.tax_rate != 8) return Outcome::Usage("--tax-rate must be 10 or 8");
  InvoiceDraft draft;
  draft.customer = args.customer;
  draft.issue_date = args.issue_date;
  draft.due_date = args.due_date;
  draft.number = args.number;
  for (const std::string& text : args.items) {
    Result<InvoiceItem> item = ParseInvoiceItem(text, static_cast<uint32_t>(args.tax_rate));
    if (!item.ok()) return Outcome::Usage(item.status().message());
    draft.items.push_back(*std::move(item));
  }
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  InvoiceBook book(**replica);
  const std::string context = "creating an invoice for " + QuoteForMessage(args.customer) + " (nothing written)";
  Result<std::string> id = book.Create(draft);
  if (!id.ok()) return Outcome::Failed(id.status(), context);
  Result<Invoice> invoice = book.Get(*id);
  if (!invoice.ok()) return Outcome::Failed(invoice.status(), "reading invoice " + *id);
  out << "created invoice " << *id << " for " << args.customer << ": " << Yen(invoice->totals.amount_yen) << " (tax "
      << Yen(invoice->totals.tax_yen) << "), due " << invoice->due_date << '\n';
  return Outcome::Ok();
}

Outcome InvoicePayCommand(const std::string& db, const std::string& id, const std::string& amount,
                          const std::string& date, const std::string& note, std::ostream& out) {
  Result<int64_t> yen = text::ParseWholeNumber(amount, "the amount of yen");
  if (!yen.ok()) return Outcome::Usage(yen.status().message());
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  InvoiceBook book(**replica);
  Status paid = book.RecordPayment(id, *yen, date, note);
  if (!paid.ok()) {
    return Outcome::Failed(paid, "recording a payment for invoice " + QuoteForMessage(id) + " (nothing written)");
  }
  Result<Invoice> invoice = book.Get(id);
  if (!invoice.ok()) return Outcome::Failed(invoice.status(), "reading invoice " + id);
  out << "recorded " << Yen(*yen) << " for invoice " << id << ": paid " << Yen(invoice->paid_yen) << " of "
      << Yen(invoice->totals.amount_yen) << ", " << StateText(invoice->state) << '\n';
  return Outcome::Ok();
}

Outcome InvoiceCancelCommand(const std::string& db, const std::string& id, std::ostream& out) {
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  Status cancelled = InvoiceBook(**replica).Cancel(id);
  if (!cancelled.ok()) {
    return Outcome::Failed(cancelled, "cancelling invoice " + QuoteForMessage(id) + " (nothing written)");
  }
  out << "cancelled invoice " << id << '\n';
  return Outcome::Ok();
}

Outcome InvoiceShowCommand(const std::string& db, const std::string& id, bool json, std::ostream& out) {
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  Result<Invoice> invoice = InvoiceBook(**replica).Get(id);
  if (!invoice.ok()) return Outcome::Failed(invoice.status(), "reading invoice " + QuoteForMessage(id));
  if (json) {
    out << DumpJson(InvoiceToJson(*invoice));
  } else {
    WriteInvoiceText(out, *invoice);
  }
  return Outcome::Ok();
}

Outcome InvoiceListCommand(const std::string& db, const InvoiceFilter& filter, bool json, std::ostream& out) {
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  Result<std::vector<Invoice>> invoices = InvoiceBook(**replica).List(filter);
  if (!invoices.ok()) return Outcome::Failed(invoices.status(), "listing invoices");
  if (json) {
    Json array = Json::array();
    for (const Invoice& invoice : *invoices) array.push_back(InvoiceToJson(invoice));
    out << DumpJson(array);
    return Outcome::Ok();
  }
  if (invoices->empty()) {
    out << (filter.unpaid_only ? "no unpaid invoices" : "no invoices")
        << (filter.customer.empty() ? "" : " for " + filter.customer) << '\n';
  }
  for (const Invoice& i : *invoices) {
    out << i.id << "  " << i.issue_date << "  due " << i.due_date << "  " << i.customer;
    if (!i.customer_name.empty()) out << ' ' << i.customer_name;
    out << "  " << Yen(i.totals.amount_yen) << "  paid " << text::GroupThousands(i.paid_yen) << "  balance "
        << text::GroupThousands(i.balance_yen()) << "  " << StateText(i.state) << '\n';
  }
  return Outcome::Ok();
}

Outcome InvoiceExportCommand(const std::string& db, bool unpaid_only, bool excel, const std::string& output,
                             std::ostream& out) {
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  InvoiceFilter filter;
  filter.unpaid_only = unpaid_only;
  Result<std::vector<Invoice>> invoices = InvoiceBook(**replica).List(filter);
  if (!invoices.ok()) return Outcome::Failed(invoices.status(), "listing invoices");
  std::string csv;
  // Without the mark Excel reads the file as the system's code page
  // (Shift_JIS on a Japanese Windows) and garbles every Japanese cell.
  if (excel) csv += text::kUtf8ByteOrderMark;
  csv += text::FormatCsvRow(kExportHeader);
  for (const Invoice& invoice : *invoices) csv += text::FormatCsvRow(ExportRow(invoice));
  if (output.empty()) {
    out << csv;
    return Outcome::Ok();
  }
  std::ofstream file(output, std::ios::binary | std::ios::trunc);
  file << csv;
  file.close();
  if (!file) return Outcome::Failed(IoError("cannot write " + QuoteForMessage(output)), "exporting invoices");
  out << "wrote " << invoices->size() << " invoice" << (invoices->size() == 1 ? "" : "s") << " to " << output << '\n';
  return Outcome::Ok();
}

}  // namespace daicho::cli
