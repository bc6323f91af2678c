// What flume-broker, flume and flume-inspect share on top of CLI11: help laid out like a man page
// (usage first, the description, the program's own options, its footer, then the options every
// command shares), usage errors as "<program>: <message>" and "(see <program> --help)" with exit
// status 2, and -V/--version printing exactly "<program> <version>" (help2man reads it).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include "text/parse_number.hpp"

namespace flume::command_line {

inline constexpr int kExitUsage = 2;

// The group that goes last in every help, after the footer, followed by `trailer`.
inline constexpr const char *kSharedGroup = "common options";

class HelpFormatter : public CLI::Formatter {
 public:
  explicit HelpFormatter(std::string trailer = {}) : trailer_(std::move(trailer)) {
    label("Usage", "usage");
    label("OPTIONS", "options");
    label("SUBCOMMAND", "COMMAND");
    column_width(30);
  }

  std::string make_help(const CLI::App *app, std::string name,
                        CLI::AppFormatMode mode) const override {
    if (mode == CLI::AppFormatMode::Sub) return make_expanded(app);
    std::string out = make_usage(app, name);
    if (const std::string description = make_description(app); !description.empty()) {
      out += "\n" + description;
    }
    out += options_of(app, [](const std::string &group) { return group != kSharedGroup; });
    out += make_subcommands(app, mode);
    if (const std::string footer = make_footer(app); !footer.empty()) out += "\n" + footer;
    const std::string shared =
        options_of(app, [](const std::string &group) { return group == kSharedGroup; });
    if (!shared.empty()) out += shared + trailer_;
    return out;
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

  std::string trailer_;
};

[[noreturn]] inline void usage_error(const std::string &program, const std::string &message) {
  std::cerr << program << ": " << message << "\n(see " << program << " --help)\n";
  std::exit(kExitUsage);
}

// Gives `app` the shared look: the formatter, lower-case headings, -h/--help, -V/--version.
inline void configure(CLI::App &app, const std::string &program, std::string_view version,
                      std::string trailer = {}) {
  app.formatter(std::make_shared<HelpFormatter>(std::move(trailer)));
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
  return message;
}

// Whatever CLI11 left over is an unknown option or an argument too many.
inline void reject_extras(const std::vector<std::string> &extras, const std::string &program,
                          const std::string &hint = {}) {
  if (extras.empty()) return;
  const std::string &first = extras.front();
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
