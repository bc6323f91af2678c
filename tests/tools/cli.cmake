# The flume command-line client, run as a user would: against a real flume-broker on
# 127.0.0.1 (started and stopped by with_broker.sh) or against nothing at all.
set(FLUME_CLI_TESTS "${CMAKE_CURRENT_LIST_DIR}")

# flume_cli_test(<script> <case> [BROKER]): tools.cli_<case> runs `<script> flume <case>`,
# with BROKER under with_broker.sh.
function(flume_cli_test script case_name)
  set(command sh "${FLUME_CLI_TESTS}/${script}" "$<TARGET_FILE:flume-cli>" "${case_name}")
  if("BROKER" IN_LIST ARGN)
    list(PREPEND command sh "${FLUME_CLI_TESTS}/with_broker.sh" "$<TARGET_FILE:flume-broker>")
  endif()
  add_test(NAME tools.cli_${case_name} COMMAND ${command})
  set_tests_properties(tools.cli_${case_name} PROPERTIES TIMEOUT 60)
endfunction()

flume_cli_test(cli_pub_sub.sh stdin_lines_round_trip BROKER)
flume_cli_test(cli_pub_sub.sh count_stops_sub_and_repeats_pub BROKER)
flume_cli_test(cli_pub_sub.sh json_format_text_and_binary BROKER)
flume_cli_test(cli_pub_sub.sh wildcards_select_subjects BROKER)
flume_cli_test(cli_pub_sub.sh sub_timeout_without_messages_fails BROKER)
flume_cli_test(cli_pub_sub.sh local_broker_trusted_without_flags BROKER)
flume_cli_test(cli_pub_sub.sh insecure_warns BROKER)
flume_cli_test(cli_bench.sh two_subscribers_receive_and_report_latency BROKER)
flume_cli_test(cli_bench.sh paced_json_summary BROKER)
flume_cli_test(cli_bench.sh broker_cpu_per_message_with_broker_pid BROKER)
flume_cli_test(cli_errors.sh usage_errors_exit_2)
flume_cli_test(cli_errors.sh help_and_version_exit_0)
flume_cli_test(cli_errors.sh no_broker_is_unreachable)
flume_cli_test(cli_errors.sh untrusted_certificate BROKER)

# cli_outage.sh runs its own broker: it kills it and starts it again on the same port.
foreach(case_name sub_reports_a_restart_and_exits_3 exit_on_gap_stops_at_the_first_gap
                  pub_rides_out_a_restart_and_accounts_for_every_line
                  paused_sub_accounts_for_every_message)
  add_test(NAME tools.cli_${case_name}
           COMMAND sh "${FLUME_CLI_TESTS}/cli_outage.sh" "$<TARGET_FILE:flume-cli>" "${case_name}"
                   "$<TARGET_FILE:flume-broker>")
  set_tests_properties(tools.cli_${case_name} PROPERTIES TIMEOUT 90)
endforeach()

# flume token runs offline: no broker.
flume_cli_test(cli_token.sh token_issue_inspect_verify)
flume_cli_test(cli_token.sh token_verification_failures_exit_4)
flume_cli_test(cli_token.sh token_usage_errors_exit_2)
# cli_overlay.sh runs two flume-broker nodes of its own (b dials a) and flume overlay on them.
foreach(case_name overlay_shows_links_rtt_and_interest overlay_failures_say_why
                  killed_node_noticed_within_2s)
  add_test(NAME tools.cli_${case_name}
           COMMAND sh "${FLUME_CLI_TESTS}/cli_overlay.sh" "$<TARGET_FILE:flume-cli>" "${case_name}"
                   "$<TARGET_FILE:flume-broker>")
  set_tests_properties(tools.cli_${case_name} PROPERTIES TIMEOUT 60)
endforeach()
