// Unit tests for the cross-message DNS cache: answers reused within their TTL and asked again
// after it, TTLs capped (an hour; five minutes for negative answers), transient failures and
// TTL 0 never kept, the least recently used answer forgotten first, names compared without case
// or trailing dot, two threads at once, and the per-message CachingResolver taking a shared
// answer without a progress call or any of its DNS budget. Time is a fake clock.
#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dns/caching_resolver.h"
#include "dns/shared_dns_cache.h"

namespace ecomm {
namespace {

using Status = DnsAnswer::Status;
using std::chrono::seconds;

// Answers every name with "TYPE for NAME" and the TTL set in ttl; names containing a word
// answer otherwise: "missing" nxdomain, "empty" nodata, "slow" timeout, "broken" error.
// Thread-safe: counts with an atomic and keeps no other state.
class FakeUpstream : public DnsResolver {
public:
    DnsAnswer query(std::string_view name, DnsType type) override
    {
        ++queries;
        DnsAnswer answer;
        answer.ttl_seconds = ttl;
        if (name.find("missing") != std::string_view::npos) {
            answer.status = Status::nxdomain;
        } else if (name.find("empty") != std::string_view::npos) {
            answer.status = Status::nodata;
        } else if (name.find("slow") != std::string_view::npos) {
            answer.status = Status::timeout;
        } else if (name.find("broken") != std::string_view::npos) {
            answer.status = Status::error;
        } else {
            answer.status = Status::ok;
            answer.records.push_back(std::string(to_string(type)) + " for " + canonical_dns_name(name));
        }
        return answer;
    }

    std::atomic<int> queries{0};
    std::uint32_t ttl = 60;
};

// A SharedDnsCache over a FakeUpstream, on a clock that moves only when told.
struct Fixture {
    explicit Fixture(std::size_t capacity = 16)
        : upstream(std::make_shared<FakeUpstream>()),
          cache(upstream, capacity, [this] { return now; })
    {
    }

    void advance(seconds by) { now += by; }
    int asked() const { return upstream->queries.load(); }

    std::shared_ptr<FakeUpstream> upstream;
    std::chrono::steady_clock::time_point now{};
    SharedDnsCache cache;
};

}  // namespace

class SharedDnsCacheTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SharedDnsCacheTest);
    CPPUNIT_TEST(answer_is_reused_within_its_ttl);
    CPPUNIT_TEST(answer_is_asked_again_once_its_ttl_is_over);
    CPPUNIT_TEST(long_ttls_are_capped_at_an_hour);
    CPPUNIT_TEST(negative_answers_are_kept_for_their_ttl_up_to_five_minutes);
    CPPUNIT_TEST(failures_and_ttl_zero_are_never_kept);
    CPPUNIT_TEST(least_recently_used_answer_is_forgotten_first);
    CPPUNIT_TEST(capacity_zero_keeps_nothing);
    CPPUNIT_TEST(names_match_without_case_or_trailing_dot);
    CPPUNIT_TEST(cached_never_asks_upstream);
    CPPUNIT_TEST(two_threads_share_the_cache);
    CPPUNIT_TEST(caching_resolver_takes_shared_answers_without_progress_or_budget);
    CPPUNIT_TEST_SUITE_END();

public:
    void answer_is_reused_within_its_ttl()
    {
        Fixture f;
        const auto first = f.cache.query("example.org", DnsType::TXT);
        f.advance(seconds(59));
        const auto second = f.cache.query("example.org", DnsType::TXT);
        CPPUNIT_ASSERT_EQUAL(1, f.asked());
        CPPUNIT_ASSERT(second.status == Status::ok);
        CPPUNIT_ASSERT(first.records == second.records);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t{1}, second.ttl_seconds);  // what is left of it
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, f.cache.hits());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, f.cache.misses());
        f.cache.query("example.org", DnsType::A);  // another type is another question
        CPPUNIT_ASSERT_EQUAL(2, f.asked());
    }

    void answer_is_asked_again_once_its_ttl_is_over()
    {
        Fixture f;
        f.cache.query("example.org", DnsType::TXT);
        f.advance(seconds(60));
        CPPUNIT_ASSERT(f.cache.query("example.org", DnsType::TXT).status == Status::ok);
        CPPUNIT_ASSERT_EQUAL(2, f.asked());
        f.advance(seconds(30));  // the fresh answer counts from its own look-up
        f.cache.query("example.org", DnsType::TXT);
        CPPUNIT_ASSERT_EQUAL(2, f.asked());
    }

    void long_ttls_are_capped_at_an_hour()
    {
        Fixture f;
        f.upstream->ttl = 86400;
        f.cache.query("example.org", DnsType::TXT);
        f.advance(SharedDnsCache::kMaxTtl - seconds(1));
        f.cache.query("example.org", DnsType::TXT);
        CPPUNIT_ASSERT_EQUAL(1, f.asked());
        f.advance(seconds(1));
        f.cache.query("example.org", DnsType::TXT);
        CPPUNIT_ASSERT_EQUAL(2, f.asked());
    }

    void negative_answers_are_kept_for_their_ttl_up_to_five_minutes()
    {
        Fixture f;
        f.upstream->ttl = 120;  // under the cap: its own TTL counts
        CPPUNIT_ASSERT(f.cache.query("missing.example.org", DnsType::TXT).status == Status::nxdomain);
        f.advance(seconds(119));
        CPPUNIT_ASSERT(f.cache.query("missing.example.org", DnsType::TXT).status == Status::nxdomain);
        CPPUNIT_ASSERT_EQUAL(1, f.asked());
        f.advance(seconds(1));
        f.cache.query("missing.example.org", DnsType::TXT);
        CPPUNIT_ASSERT_EQUAL(2, f.asked());

        f.upstream->ttl = 86400;  // over the cap: five minutes
        CPPUNIT_ASSERT(f.cache.query("empty.example.org", DnsType::TXT).status == Status::nodata);
        f.advance(SharedDnsCache::kMaxNegativeTtl - seconds(1));
        CPPUNIT_ASSERT(f.cache.query("empty.example.org", DnsType::TXT).status == Status::nodata);
        CPPUNIT_ASSERT_EQUAL(3, f.asked());
        f.advance(seconds(1));
        f.cache.query("empty.example.org", DnsType::TXT);
        CPPUNIT_ASSERT_EQUAL(4, f.asked());
    }

    // A time-out or error must be retried by the next message, whatever TTL came with it; an
    // answer with TTL 0 may not be reused at all.
    void failures_and_ttl_zero_are_never_kept()
    {
        Fixture f;
        f.upstream->ttl = 300;
        for (int i = 0; i < 2; ++i) {
            CPPUNIT_ASSERT(f.cache.query("slow.example.org", DnsType::TXT).status == Status::timeout);
            CPPUNIT_ASSERT(f.cache.query("broken.example.org", DnsType::TXT).status == Status::error);
        }
        CPPUNIT_ASSERT_EQUAL(4, f.asked());
        f.upstream->ttl = 0;
        for (int i = 0; i < 2; ++i) {
            CPPUNIT_ASSERT(f.cache.query("example.org", DnsType::TXT).status == Status::ok);
            CPPUNIT_ASSERT(f.cache.query("missing.example.org", DnsType::TXT).status == Status::nxdomain);
        }
        CPPUNIT_ASSERT_EQUAL(8, f.asked());
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, f.cache.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, f.cache.hits());
    }

    void least_recently_used_answer_is_forgotten_first()
    {
        Fixture f(3);
        f.cache.query("a.example.org", DnsType::A);
        f.cache.query("b.example.org", DnsType::A);
        f.cache.query("c.example.org", DnsType::A);
        f.cache.query("a.example.org", DnsType::A);  // a is now the most recently used; b the least
        CPPUNIT_ASSERT_EQUAL(3, f.asked());
        f.cache.query("d.example.org", DnsType::A);  // full: b goes
        CPPUNIT_ASSERT_EQUAL(4, f.asked());
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, f.cache.size());
        f.cache.query("a.example.org", DnsType::A);
        f.cache.query("c.example.org", DnsType::A);
        f.cache.query("d.example.org", DnsType::A);
        CPPUNIT_ASSERT_EQUAL(4, f.asked());
        f.cache.query("b.example.org", DnsType::A);  // asked again; a, the least recent, goes
        CPPUNIT_ASSERT_EQUAL(5, f.asked());
        CPPUNIT_ASSERT(!f.cache.cached("a.example.org", DnsType::A));
        CPPUNIT_ASSERT(f.cache.cached("c.example.org", DnsType::A));
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, f.cache.size());
    }

    void capacity_zero_keeps_nothing()
    {
        Fixture f(0);
        f.cache.query("example.org", DnsType::TXT);
        f.cache.query("example.org", DnsType::TXT);
        CPPUNIT_ASSERT_EQUAL(2, f.asked());
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, f.cache.size());
    }

    void names_match_without_case_or_trailing_dot()
    {
        Fixture f;
        const auto first = f.cache.query("Example.ORG.", DnsType::TXT);
        const auto second = f.cache.query("example.org", DnsType::TXT);
        CPPUNIT_ASSERT_EQUAL(1, f.asked());
        CPPUNIT_ASSERT(first.records == second.records);
        CPPUNIT_ASSERT(f.cache.cached("EXAMPLE.org.", DnsType::TXT));
    }

    void cached_never_asks_upstream()
    {
        Fixture f;
        CPPUNIT_ASSERT(!f.cache.cached("example.org", DnsType::TXT));
        CPPUNIT_ASSERT_EQUAL(0, f.asked());
        f.cache.query("example.org", DnsType::TXT);
        const auto held = f.cache.cached("example.org", DnsType::TXT);
        CPPUNIT_ASSERT(held && held->status == Status::ok);
        CPPUNIT_ASSERT(held->records == std::vector<std::string>{"TXT for example.org"});
        f.advance(seconds(60));
        CPPUNIT_ASSERT(!f.cache.cached("example.org", DnsType::TXT));  // expired, and not asked again
        CPPUNIT_ASSERT_EQUAL(1, f.asked());
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, f.cache.size());
    }

    // Connection threads share one cache: every answer is still the right one, and each name is
    // asked at most once per thread that missed it at the same moment.
    void two_threads_share_the_cache()
    {
        Fixture f(64);
        constexpr int kNames = 50;
        constexpr int kRounds = 40;
        std::atomic<int> wrong{0};
        auto work = [&](int offset) {
            for (int round = 0; round < kRounds; ++round) {
                for (int i = 0; i < kNames; ++i) {
                    const std::string name = "n" + std::to_string((i + offset) % kNames) + ".example.org";
                    const auto answer = f.cache.query(name, DnsType::TXT);
                    if (answer.status != Status::ok || answer.records != std::vector<std::string>{"TXT for " + name})
                        ++wrong;
                }
            }
        };
        std::thread other(work, kNames / 2);
        work(0);
        other.join();
        CPPUNIT_ASSERT_EQUAL(0, wrong.load());
        CPPUNIT_ASSERT(f.asked() >= kNames && f.asked() <= 2 * kNames);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2 * kNames * kRounds}, f.cache.hits() + f.cache.misses());
        CPPUNIT_ASSERT_EQUAL(std::size_t(kNames), f.cache.size());
    }

    // The per-message resolver calls progress (smfi_progress) and spends its budget only for
    // look-ups that need the network; an answer the shared cache holds needs neither.
    void caching_resolver_takes_shared_answers_without_progress_or_budget()
    {
        struct SlowUpstream : FakeUpstream {
            DnsAnswer query(std::string_view name, DnsType type) override
            {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
                return FakeUpstream::query(name, type);
            }
        };
        auto upstream = std::make_shared<SlowUpstream>();
        auto shared = std::make_shared<SharedDnsCache>(upstream, 16);
        shared->query("warm.example.org", DnsType::TXT);  // an earlier message asked for it
        CPPUNIT_ASSERT_EQUAL(1, upstream->queries.load());

        int progress_calls = 0;
        CachingResolver message(*shared, [&] { ++progress_calls; }, std::chrono::milliseconds(1));
        CPPUNIT_ASSERT(message.query("cold.example.org", DnsType::TXT).status == Status::ok);
        CPPUNIT_ASSERT_EQUAL(1, progress_calls);  // the network: progress first, budget spent
        CPPUNIT_ASSERT_EQUAL(2, upstream->queries.load());

        const auto warm = message.query("Warm.Example.org", DnsType::TXT);
        CPPUNIT_ASSERT(warm.status == Status::ok);
        CPPUNIT_ASSERT(warm.records == std::vector<std::string>{"TXT for warm.example.org"});
        CPPUNIT_ASSERT_EQUAL(1, progress_calls);
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, message.budget_refusals());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, message.upstream_cache_hits());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, message.upstream_queries());

        // The budget is spent: a name nobody has asked for is refused, without progress.
        CPPUNIT_ASSERT(message.query("new.example.org", DnsType::TXT).status == Status::timeout);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, message.budget_refusals());
        CPPUNIT_ASSERT_EQUAL(1, progress_calls);
        CPPUNIT_ASSERT_EQUAL(2, upstream->queries.load());
        CPPUNIT_ASSERT(message.cached("warm.example.org", DnsType::TXT).has_value());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SharedDnsCacheTest);

}  // namespace ecomm
