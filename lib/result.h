// Errors are values. Every fallible call in Skiff returns Result<T> (or
// Result<void>) and the caller must look at it: the class is [[nodiscard]].
#pragma once

#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace skiff {

enum class Error : uint16_t {
    InvalidArgument,
    OutOfMemory,
    NotFound,
    Corrupt,      // a table, header or descriptor failed validation
    Unsupported,
    Busy,
    Timeout,
    Io,
    ReadOnly,
    OutOfRange,
    Exists,
    DeviceBroken,
    Full,
};

constexpr const char* error_name(Error error)
{
    switch (error) {
    case Error::InvalidArgument: return "invalid argument";
    case Error::OutOfMemory: return "out of memory";
    case Error::NotFound: return "not found";
    case Error::Corrupt: return "corrupt";
    case Error::Unsupported: return "unsupported";
    case Error::Busy: return "busy";
    case Error::Timeout: return "timeout";
    case Error::Io: return "I/O error";
    case Error::ReadOnly: return "read-only";
    case Error::OutOfRange: return "out of range";
    case Error::Exists: return "already exists";
    case Error::DeviceBroken: return "device broken";
    case Error::Full: return "full";
    }
    return "unknown error";
}

template<typename T>
class [[nodiscard]] Result {
    static_assert(std::is_trivially_destructible_v<T> || std::is_nothrow_move_constructible_v<T>);

public:
    Result(const T& value) : m_has_value(true) { new (&m_storage) T(value); }
    Result(T&& value) : m_has_value(true) { new (&m_storage) T(std::move(value)); }
    Result(Error error) : m_error(error), m_has_value(false) {}

    // Trivial copies and destructor when T has them: the Result is then
    // passed and returned in registers (rax:rdx for a pointer or integer)
    // instead of through memory behind a hidden pointer.
    Result(const Result&) requires std::is_trivially_copy_constructible_v<T> = default;
    Result(const Result& other) requires(!std::is_trivially_copy_constructible_v<T>)
        : m_error(other.m_error)
        , m_has_value(other.m_has_value)
    {
        if (m_has_value)
            new (&m_storage) T(other.value());
    }
    Result(Result&&) requires std::is_trivially_move_constructible_v<T> = default;
    Result(Result&& other) requires(!std::is_trivially_move_constructible_v<T>)
        : m_error(other.m_error)
        , m_has_value(other.m_has_value)
    {
        if (m_has_value)
            new (&m_storage) T(std::move(other.value()));
    }
    Result& operator=(const Result&) = delete;
    ~Result() requires std::is_trivially_destructible_v<T> = default;
    ~Result() requires(!std::is_trivially_destructible_v<T>)
    {
        if (m_has_value)
            value().~T();
    }

    bool has_value() const { return m_has_value; }
    bool is_error() const { return !m_has_value; }
    explicit operator bool() const { return m_has_value; }
    Error error() const { return m_error; }

    T& value() { return *std::launder(reinterpret_cast<T*>(&m_storage)); }
    const T& value() const { return *std::launder(reinterpret_cast<const T*>(&m_storage)); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T value_or(T fallback) const { return m_has_value ? value() : fallback; }

    // For TRY(): moves the value out.
    T release_value() { return std::move(value()); }

private:
    alignas(T) unsigned char m_storage[sizeof(T)];
    Error m_error {};
    bool m_has_value;
};

template<>
class [[nodiscard]] Result<void> {
public:
    Result() : m_ok(true) {}
    Result(Error error) : m_error(error), m_ok(false) {}

    bool has_value() const { return m_ok; }
    bool is_error() const { return !m_ok; }
    explicit operator bool() const { return m_ok; }
    Error error() const { return m_error; }
    void release_value() {}

private:
    Error m_error {};
    bool m_ok;
};

inline Result<void> ok() { return {}; }

} // namespace skiff

// Propagates an error to the caller, otherwise yields the value.
#define TRY(expression)                                   \
    ({                                                    \
        auto _try_result = (expression);                  \
        if (_try_result.is_error())                       \
            return _try_result.error();                   \
        _try_result.release_value();                      \
    })
