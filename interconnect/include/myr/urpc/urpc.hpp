#pragma once
// Everything a user of the interconnect needs, in one include.
#include <myr/urpc/binding.hpp>
#include <myr/urpc/channel_layout.hpp>
#include <myr/urpc/fragment.hpp>
#include <myr/urpc/message.hpp>
#include <myr/urpc/multicast.hpp>
#include <myr/urpc/poll_block.hpp>
#include <myr/urpc/receiver.hpp>
#include <myr/urpc/sender.hpp>
#include <myr/urpc/wake.hpp>
