# An Alaya NeW expert deployment: the body of the vendor's DeployService(Expert) example.
# `scale.min = 0` lets it scale to zero after `idle_time` seconds without requests.

resource "alaya_expert_deployment" "vllm" {
  name        = "test-expert"
  namespace   = "default"
  vks_id      = "vcacb50arkk4"
  served_name = ["testvllm"]
  model_id    = "c486cdee-c316-4fc1-9f75-0d1741940f27"

  scale {
    min       = 0
    max       = 3
    rps_value = 10
    idle_time = 60
  }

  head_config {
    image  = "registry.cn-hangzhou.aliyuncs.com/ls-2018/test:vllm-0.8.1p"
    cmd    = ["sh", "-c", "test.sh"]
    labels = {}
    env = {
      VLLM_ALLOW_RUNTIME_LORA_UPDATING = "true"
    }
    args = ["-Xmx", "52m"]
    resource {
      mem = 32
      cpu = 4
      gpu {
        gpu_type = "nvidia.com/gpu-l40s"
        count    = 1
      }
    }
    pvc_mounts {
      container_path = "/scripts"
      pvc_name       = "test-name"
    }
  }

  worker_config {
    workers = 1
    image   = "registry.cn-hangzhou.aliyuncs.com/ls-2018/test:vllm-0.8.1p"
    cmd     = ["sh", "-c", "test.sh"]
    labels  = {}
    env = {
      VLLM_ALLOW_RUNTIME_LORA_UPDATING = "true"
    }
    args = [""]
    resource {
      workers = 3
      mem     = 8
      cpu     = 4
      gpu {
        gpu_type = "nvidia.com/gpu-l40s"
        count    = 1
      }
    }
    pvc_mounts {
      container_path = "/scripts"
      pvc_name       = "test-name"
    }
  }

  extensions = {
    usage = "test"
  }
}
