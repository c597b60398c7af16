#pragma once

/// @file
/// @brief Learning-rate reduction when a monitored value stops improving (torch's ReduceLROnPlateau,
/// relative threshold mode).

#include <algorithm>
#include <limits>

namespace gatrec {

struct plateau_options {
  bool maximize = true;      ///< true for a metric (higher is better), false for a loss
  double factor = 0.4;       ///< new lr = lr * factor
  int patience = 5;          ///< epochs without improvement before reducing
  double threshold = 1e-4;   ///< relative improvement that counts
  double min_lr = 0.0;
};

/// Call `update(value, lr)` once per evaluation; it returns the learning rate to use next.
class reduce_on_plateau {
 public:
  explicit reduce_on_plateau(const plateau_options& opt) : opt_(opt) {
    best_ = opt.maximize ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }

  double update(double value, double lr) {
    if (improves(value)) {
      best_ = value;
      bad_ = 0;
    } else if (++bad_ > opt_.patience) {
      lr = std::max(opt_.min_lr, lr * opt_.factor);
      bad_ = 0;
      ++reductions_;
    }
    return lr;
  }

  int reductions() const { return reductions_; }
  double best() const { return best_; }

 private:
  bool improves(double v) const {
    if (opt_.maximize) return v > best_ * (best_ >= 0 ? 1.0 + opt_.threshold : 1.0 - opt_.threshold);
    return v < best_ * (best_ >= 0 ? 1.0 - opt_.threshold : 1.0 + opt_.threshold);
  }

  plateau_options opt_;
  double best_;
  int bad_ = 0;
  int reductions_ = 0;
};

/// Stops training after `patience` evaluations without a new best value.
class early_stopping {
 public:
  early_stopping(int patience, bool maximize) : patience_(patience), maximize_(maximize) {
    best_ = maximize ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }

  /// Records a value; returns true when it is a new best (the caller keeps a snapshot then).
  bool update(double value) {
    const bool better = maximize_ ? value > best_ : value < best_;
    if (better) {
      best_ = value;
      since_best_ = 0;
    } else {
      ++since_best_;
    }
    return better;
  }

  bool should_stop() const { return patience_ > 0 && since_best_ >= patience_; }
  double best() const { return best_; }

 private:
  int patience_;
  bool maximize_;
  double best_;
  int since_best_ = 0;
};

}  // namespace gatrec
