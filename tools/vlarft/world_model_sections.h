// The config document's `tokenizer:` and `world_model:` sections (configs/tiny.yaml, paper.yaml):
// each holds the model (`model:`) and its stage-1 training settings (`training:`), so the two
// stages are self-contained and overridable with --set tokenizer.training.steps=… .
#pragma once

#include "libs/models/tokenizer.h"
#include "libs/models/train_tokenizer.h"
#include "libs/models/train_world_model.h"
#include "libs/models/world_model.h"

namespace vlarft::cli {

struct TokenizerSection {
  models::TokenizerConfig model;
  models::TokenizerTrainConfig training;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("model", model);
    v.Field("training", training);
  }
};

struct WorldModelSection {
  models::WorldModelConfig model;
  models::WorldModelTrainConfig training;

  template <typename V>
  void VisitFields(V& v) {
    v.Field("model", model);
    v.Field("training", training);
  }
};

}  // namespace vlarft::cli
