// ModelParams.cs: lola_model_params as properties, defaults from lola_model_params_init().
namespace Lola
{
    /// <summary>Parameters of <see cref="Model.Load"/>: device and memory budget.</summary>
    public sealed class ModelParams
    {
        public Device Device { get; set; }
        /// <summary>GPU index when <see cref="Device"/> is Cuda.</summary>
        public int DeviceIndex { get; set; }
        /// <summary>Bytes the model may hold (weights and tables); 0: no limit.</summary>
        public ulong MemoryBudget { get; set; }
        /// <summary>A LoLA adapter GGUF trained for this model (lola-linearize writes one): its
        /// feature maps, gates and chunk/lambda/mixing defaults replace the file's. It records
        /// the fingerprint of the model it was trained for and is refused (Incompatible) on any
        /// other. Null (default): none.</summary>
        public string AdapterPath { get; set; }

        public ModelParams()
        {
            Library.EnsureCompatible();
            using (var p = new Native.lola_model_params())
            {
                Device = (Device)p.device;
                DeviceIndex = p.device_index;
                MemoryBudget = p.memory_budget;
            }
        }

        internal Native.lola_model_params ToNative()
        {
            var p = new Native.lola_model_params();
            p.device = (int)Device;
            p.device_index = DeviceIndex;
            p.memory_budget = MemoryBudget;
            return p;
        }
    }
}
