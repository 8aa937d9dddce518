#include "apps/daicho-relay/mail_setup.h"

#include <future>

#include "apps/common/secret_file.h"
#include "relay/mail/mail_queue.h"
#include "relay/mail/outbox_transport.h"
#include "relay/mail/smtp_transport.h"

namespace daicho::apps {

void AddMailFlags(CLI::App& command, MailFlags& flags) {
  command.add_option("--mail-outbox", flags.outbox,
                     "keep mail as .eml files in this directory instead of sending it (default DATA/outbox with "
                     "--data when no --smtp-url is given)");
  command.add_option("--smtp-url", flags.smtp_url,
                     "send mail through this SMTP server: smtps://HOST:465 (TLS) or smtp://HOST:587 (STARTTLS "
                     "required)");
  command.add_option("--smtp-user", flags.smtp_user, "the SMTP login (with --smtp-password-file)");
  command.add_option("--smtp-password-file", flags.smtp_password_file, "file whose first line is the SMTP password");
  command.add_option("--smtp-ca-file", flags.smtp_ca_file,
                     "PEM certificates to trust for the SMTP server (default: the system's)");
  command.add_option("--mail-from", flags.from, "the sender address of the relay's mail, e.g. noreply@vendor.jp");
  command.add_option("--mail-from-name", flags.from_name, "the sender name shown with it");
}

Result<std::unique_ptr<relay::mail::MailTransport>> OpenMailTransport(const MailFlags& flags,
                                                                      const std::string& data_dir) {
  using relay::mail::OutboxTransport;
  using relay::mail::SmtpTransport;
  if (flags.smtp_url.empty()) {
    if (!flags.smtp_user.empty() || !flags.smtp_password_file.empty() || !flags.smtp_ca_file.empty()) {
      return Status(Code::kInvalidArgument, "--smtp-user, --smtp-password-file and --smtp-ca-file need --smtp-url");
    }
    if (flags.outbox.empty() && data_dir.empty()) {
      return Status(Code::kInvalidArgument,
                    "a relay on --store has no data directory for its mail: give --mail-outbox DIR or --smtp-url");
    }
    DAICHO_ASSIGN_OR_RETURN(auto outbox,
                            OutboxTransport::Open(flags.outbox.empty() ? data_dir + "/outbox" : flags.outbox));
    return std::unique_ptr<relay::mail::MailTransport>(std::move(outbox));
  }
  if (!flags.outbox.empty()) return Status(Code::kInvalidArgument, "give --mail-outbox or --smtp-url, not both");
  if (flags.smtp_user.empty() != flags.smtp_password_file.empty()) {
    return Status(Code::kInvalidArgument, "--smtp-user and --smtp-password-file go together");
  }
  relay::mail::SmtpOptions options;
  options.url = flags.smtp_url;
  options.user = flags.smtp_user;
  options.ca_file = flags.smtp_ca_file;
  if (!flags.smtp_password_file.empty()) {
    DAICHO_ASSIGN_OR_RETURN(options.password, ReadSecretFile(flags.smtp_password_file));
  }
  DAICHO_ASSIGN_OR_RETURN(auto smtp, SmtpTransport::Create(std::move(options)));
  return std::unique_ptr<relay::mail::MailTransport>(std::move(smtp));
}

Result<relay::mail::MailSender> MailSenderOf(const MailFlags& flags) {
  if (flags.from.empty()) {
    return Status(Code::kInvalidArgument, "--mail-from is needed: the address the relay's mail comes from");
  }
  if (!relay::IsMailAddress(flags.from)) {
    return Status(Code::kInvalidArgument, "--mail-from \"" + flags.from + "\" is not a mail address");
  }
  return relay::mail::MailSender{flags.from, flags.from_name};
}

Result<std::string> SendTestMail(const MailFlags& flags, const std::string& data_dir, const std::string& to) {
  using relay::mail::MailEvent;
  DAICHO_ASSIGN_OR_RETURN(relay::mail::MailSender sender, MailSenderOf(flags));
  if (!relay::IsMailAddress(to)) {
    return Status(Code::kInvalidArgument, "--to \"" + to + "\" is not a mail address");
  }
  DAICHO_ASSIGN_OR_RETURN(auto transport, OpenMailTransport(flags, data_dir));
  std::promise<MailEvent> outcome;
  relay::mail::MailQueueOptions options;
  options.from = std::move(sender);
  options.retry_delays.clear();  // one event: sent, or gave up after one try
  options.log = [&outcome](const MailEvent& event) { outcome.set_value(event); };
  DAICHO_ASSIGN_OR_RETURN(auto queue, relay::mail::MailQueue::Start(std::move(transport), std::move(options)));
  queue->Post({to, "daicho-relay メール送信テスト / mail test",
               "daicho-relay からの送信テストです。このメールが届けば、パスワード再設定のメールも届きます。\n"
               "This is a test mail from daicho-relay: password reset mail will arrive the same way.\n"});
  const MailEvent event = outcome.get_future().get();
  if (event.kind != MailEvent::Kind::kSent) return Status(Code::kUnavailable, event.error);
  return queue->Describe();
}

}  // namespace daicho::apps
