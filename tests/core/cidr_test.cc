#include "core/cidr.h"

#include <gtest/gtest.h>

namespace korc {
namespace {

TEST(CidrTest, ParsesAndMasksLikeGo) {
  auto c = Cidr::Parse("10.244.3.7/24");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->v6);
  EXPECT_EQ(c->prefix, 24);
  EXPECT_EQ(c->ToString(), "10.244.3.0/24");
  auto v6 = Cidr::Parse("fd00:1::5/64");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->v6);
  EXPECT_EQ(v6->ToString(), "fd00:1::/64");
  EXPECT_EQ(Cidr::Parse("0.0.0.0/0")->ToString(), "0.0.0.0/0");
}

TEST(CidrTest, RefusesWhatIsNotACidr) {
  for (const char* bad :
       {"", "10.244.0.0", "10.244.0.0/", "10.244.0.0/33", "10.244.0.0/-1", "10.244.0.0/+8",
        "10.244.0.0/024", "10.244.300.0/24", "x/8", "fd00::/129", "10.244.0.0/24 "}) {
    EXPECT_FALSE(Cidr::Parse(bad)) << bad;
  }
}

TEST(CidrTest, SingleAddresses) {
  auto a = Cidr::ParseAddress("10.96.0.10");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->prefix, 32);
  EXPECT_EQ(a->AddressString(), "10.96.0.10");
  EXPECT_TRUE(Cidr::Parse("10.96.0.0/12")->Contains(*a));
  EXPECT_FALSE(Cidr::Parse("10.112.0.0/12")->Contains(*a));
  auto v6 = Cidr::ParseAddress("fd00:0::a");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->prefix, 128);
  EXPECT_EQ(v6->AddressString(), "fd00::a");
  EXPECT_EQ(Cidr::Parse("10.244.3.7/24")->AddressString(), "10.244.3.0");
  for (const char* bad : {"", "10.96.0.0/12", "10.96.0.300", "x", "10.96.0.1 "}) {
    EXPECT_FALSE(Cidr::ParseAddress(bad)) << bad;
  }
}

TEST(CidrTest, OverlapAndContainment) {
  Cidr cluster = *Cidr::Parse("10.244.0.0/16");
  EXPECT_TRUE(cluster.Overlaps(*Cidr::Parse("10.244.7.0/24")));
  EXPECT_TRUE(Cidr::Parse("10.244.7.0/24")->Overlaps(cluster));
  EXPECT_TRUE(cluster.Overlaps(*Cidr::Parse("10.0.0.0/8")));
  EXPECT_FALSE(cluster.Overlaps(*Cidr::Parse("10.245.0.0/24")));
  EXPECT_FALSE(cluster.Overlaps(*Cidr::Parse("fd00::/8")));  // another family
  EXPECT_TRUE(cluster.Contains(*Cidr::Parse("10.244.255.0/24")));
  EXPECT_FALSE(cluster.Contains(*Cidr::Parse("10.0.0.0/8")));
  EXPECT_FALSE(Cidr::Parse("10.244.1.0/24")->Contains(*Cidr::Parse("10.244.2.0/25")));
}

TEST(CidrTest, SubnetsCountUpFromTheNetwork) {
  Cidr cluster = *Cidr::Parse("10.244.0.0/16");
  EXPECT_EQ(cluster.Subnet(24, 0).ToString(), "10.244.0.0/24");
  EXPECT_EQ(cluster.Subnet(24, 5).ToString(), "10.244.5.0/24");
  EXPECT_EQ(cluster.Subnet(24, 255).ToString(), "10.244.255.0/24");
  EXPECT_EQ(cluster.Subnet(26, 5).ToString(), "10.244.1.64/26");
  EXPECT_EQ(cluster.Subnet(16, 0).ToString(), "10.244.0.0/16");
  EXPECT_EQ(Cidr::Parse("fd00::/48")->Subnet(64, 3).ToString(), "fd00:0:0:3::/64");
  EXPECT_EQ(Cidr::Parse("::/0")->Subnet(0, 0).ToString(), "::/0");
}

}  // namespace
}  // namespace korc
