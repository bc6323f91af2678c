// What flume-broker, flume and flume-inspect share on top of CLI11: help laid out like a man page
// (usage first, the description, the program's own options, its footer, then the options every
// command shares), usage errors as "<program>: <message>" and "(see <program> --help)" with exit
// status 2, and -V/--version printing exactly "<program> <version>" (help2man reads it).
#pragma once

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "text/parse_number.hpp"

namespace flume::command_line {

inline constexpr int kExitUsage = 2;

// The group that goes last in every help, after the footer, followed by `trailer`.
inline constexpr const char *kSharedGroup = "common options";

class HelpFormatter : public CLI::Formatter {
 public:
  // `usage` replaces the generated usage line when given; `trailer` follows the common options.
  explicit HelpFormatter(std::string usage = {}, std::string trailer = {})
      : usage_(std::move(usage)), trailer_(std::move(trailer)) {
    label("Usage", "usage");
    label("OPTIONS", "options");
    label("SUBCOMMAND", "COMMAND");
    column_width(30);
  }

  std::string make_help(const CLI::App *app, std::string name,
                        CLI::AppFormatMode mode) const override {
    if (mode == CLI::AppFormatMode::Sub) return make_expanded(app);
    std::string out = usage_.empty() ? make_usage(app, name) : usage_ + "\n";
    // A command's description is "SUMMARY" or "SUMMARY\n\nTEXT": the summary goes in the
    // parent's list of commands, the text (or else the summary) in the command's own help.
    std::string description = app->get_description();
    if (const auto blank = description.find("\n\n");
        app->get_parent() != nullptr && blank != std::string::npos) {
      description.erase(0, blank + 2);
    }
    if (!description.empty()) out += "\n" + description + "\n";
    out += options_of(app, [](const std::string &group) { return group != kSharedGroup; });
    out += make_subcommands(app, mode);
    if (const std::string footer = make_footer(app); !footer.empty()) out += "\n" + footer;
    const std::string shared =
        options_of(app, [](const std::string &group) { return group == kSharedGroup; });
    if (!shared.empty()) {
      while (out.ends_with("\n\n"))
        out.pop_back();  // make_group starts with its blank line
      out += shared + trailer_;
    }
    return out;
  }

  std::string make_subcommand(const CLI::App *sub) const override {
    const std::string &description = sub->get_description();
    std::ostringstream out;
    CLI::detail::format_help(out, sub->get_name(), description.substr(0, description.find("\n\n")),
                             get_column_width());
    return out.str();
  }

 private:
  template <class Pick>
  std::string options_of(const CLI::App *app, Pick pick) const {
    std::string out;
    for (const std::string &group : app->get_groups()) {
      if (group.empty() || !pick(group)) continue;
      auto options = app->get_options([&](const CLI::Option *option) {
        return option->get_group() == group && option->nonpositional();
      });
      if (!options.empty()) out += make_group(group, false, options);
    }
    return out;
  }

  std::string usage_;
  std::string trailer_;
};

[[noreturn]] inline void usage_error(const std::string &program, const std::string &message) {
  std::cerr << program << ": " << message << "\n(see " << program << " --help)\n";
  std::exit(kExitUsage);
}

// Gives `app` the shared look: the formatter, lower-case headings, -h/--help, -V/--version.
inline void configure(CLI::App &app, const std::string &program, std::string_view version,
                      std::string usage = {}, std::string trailer = {}) {
  app.formatter(std::make_shared<HelpFormatter>(std::move(usage), std::move(trailer)));
  app.option_defaults()->group("options")->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_help_flag("-h,--help", "show this help");
  app.set_version_flag("-V,--version", program + " " + std::string(version), "print the version");
  // Unknown options and extra arguments are reported by reject_extras, in our words.
  app.allow_extras();
}

// CLI11's message, reworded where ours said it better.
inline std::string describe(const CLI::ParseError &error) {
  std::string message = error.what();
  // "--timeout: 1 required MS missing" -> "--timeout needs a value"
  if (dynamic_cast<const CLI::ArgumentMismatch *>(&error) != nullptr) {
    if (const auto colon = message.find(": "); colon != std::string::npos &&
                                               message.ends_with(" missing") &&
                                               message.find(" required ") != std::string::npos) {
      return message.substr(0, colon) + " needs a value";
    }
  }
  // "SUBJECT is required" -> "missing SUBJECT"
  if (dynamic_cast<const CLI::RequiredError *>(&error) != nullptr &&
      message.ends_with(" is required") && message.find(' ') == message.size() - 12) {
    return "missing " + message.substr(0, message.size() - 12);
  }
  return message;
}

// Whatever CLI11 left over is an unknown option or an argument too many.
inline void reject_extras(const std::vector<std::string> &extras, const std::string &program,
                          const std::string &hint = {}) {
  // CLI11 keeps a "--" among the extras; what followed it went to the positionals.
  const auto found = std::find_if(extras.begin(), extras.end(),
                                  [](const std::string &arg) { return arg != "--"; });
  if (found == extras.end()) return;
  const std::string &first = *found;
  if (first.size() > 1 && first[0] == '-') usage_error(program, "unknown option '" + first + "'");
  usage_error(program, "unexpected argument '" + first + "'" + hint);
}

// Parses; --help and --version print and exit 0, errors exit 2 naming `program_of()`'s result
// (the command that failed, for programs with subcommands).
template <class ProgramOf>
void parse_or_exit(CLI::App &app, int argc, char **argv, ProgramOf program_of) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &) {
    std::cout << app.help();  // the help of the command given, if any
    std::exit(0);
  } catch (const CLI::CallForVersion &version) {
    std::cout << version.what() << "\n";
    std::exit(0);
  } catch (const CLI::ParseError &error) {
    usage_error(program_of(), describe(error));
  }
}

// For option callbacks: a whole number from `min` to `max`, or a usage error naming `name`.
inline unsigned long long whole_number(std::string_view name, const std::string &text,
                                       unsigned long long min, unsigned long long max) {
  if (auto value = text::parse_whole(text, min, max)) return *value;
  throw CLI::ValidationError(text::whole_number_error(name, text, min, max));
}

inline double seconds(std::string_view name, const std::string &text, double min, double max) {
  if (auto value = text::parse_decimal(text, min, max)) return *value;
  throw CLI::ValidationError(text::seconds_error(name, text, min, max));
}

}  // namespace flume::command_line
