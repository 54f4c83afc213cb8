// DNS TXT reply packets for libopendkim (dns_txt_reply.h).
#include "auth/dns_txt_reply.h"

#include <arpa/nameser.h>
#include <arpa/nameser_compat.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>

namespace ecomm {

namespace {

// Bounded writer over libopendkim's reply buffer; any overflow makes the whole packet invalid.
class PacketWriter {
public:
    PacketWriter(unsigned char* buffer, std::size_t capacity) : buffer_(buffer), capacity_(capacity) {}

    void bytes(const void* data, std::size_t length)
    {
        if (!ok_ || length > capacity_ - size_) {
            ok_ = false;
            return;
        }
        std::memcpy(buffer_ + size_, data, length);
        size_ += length;
    }
    void fail() { ok_ = false; }
    void u8(unsigned value) { const unsigned char b = static_cast<unsigned char>(value); bytes(&b, 1); }
    void u16(unsigned value) { u8(value >> 8); u8(value); }
    void u32(unsigned long value) { u16(static_cast<unsigned>(value >> 16)); u16(static_cast<unsigned>(value & 0xffff)); }

    bool ok() const { return ok_; }
    std::size_t size() const { return size_; }

private:
    unsigned char* buffer_;
    std::size_t capacity_;
    std::size_t size_ = 0;
    bool ok_ = true;
};

// A domain name as uncompressed labels; false when a label or the name is too long.
bool put_name(PacketWriter& out, std::string_view name)
{
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.size() + 2 > NS_MAXCDNAME) return false;
    while (!name.empty()) {
        const std::size_t dot = name.find('.');
        const std::string_view label = name.substr(0, dot);
        if (label.empty() || label.size() > NS_MAXLABEL) return false;
        out.u8(static_cast<unsigned>(label.size()));
        out.bytes(label.data(), label.size());
        name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
    }
    out.u8(0);
    return out.ok();
}

// One TXT record: its text split into character-strings of at most 255 bytes.
void put_txt_record(PacketWriter& out, std::string_view record)
{
    constexpr std::size_t kMaxString = 255;
    const std::size_t strings = record.empty() ? 1 : (record.size() + kMaxString - 1) / kMaxString;
    const std::size_t rdlength = record.size() + strings;
    if (rdlength > 0xffff) {
        out.fail();  // too big for one resource record
        return;
    }
    out.u16(NS_CMPRSFLGS << 8 | NS_HFIXEDSZ);  // owner: pointer to the question name
    out.u16(ns_t_txt);
    out.u16(ns_c_in);
    out.u32(300);
    out.u16(static_cast<unsigned>(rdlength));
    if (record.empty()) out.u8(0);
    for (std::size_t at = 0; at < record.size(); at += kMaxString) {
        const std::string_view piece = record.substr(at, kMaxString);
        out.u8(static_cast<unsigned>(piece.size()));
        out.bytes(piece.data(), piece.size());
    }
}

}  // namespace

std::size_t build_txt_reply(std::string_view name, const DnsAnswer& answer, unsigned char* buffer,
                            std::size_t capacity)
{
    const bool nxdomain = answer.status == DnsAnswer::Status::nxdomain;
    const std::size_t answers = answer.status == DnsAnswer::Status::ok ? answer.records.size() : 0;
    if (answers > 0xffff) return 0;

    HEADER header;
    std::memset(&header, 0, sizeof header);
    header.qr = 1;
    header.opcode = ns_o_query;
    header.rd = 1;
    header.ra = 1;
    header.rcode = nxdomain ? ns_r_nxdomain : ns_r_noerror;
    header.qdcount = htons(1);
    header.ancount = htons(static_cast<uint16_t>(answers));

    PacketWriter out(buffer, capacity);
    out.bytes(&header, NS_HFIXEDSZ);
    if (!put_name(out, name)) return 0;
    out.u16(ns_t_txt);
    out.u16(ns_c_in);
    for (std::size_t i = 0; i < answers; ++i) put_txt_record(out, answer.records[i]);
    return out.ok() ? out.size() : 0;
}

}  // namespace ecomm
